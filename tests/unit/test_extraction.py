"""Emails and phones a sender typed, in Spanish and English, and what is NOT a phone."""

from __future__ import annotations

import pytest

from inbox_crm.identity.extraction import Extracted, extract


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi correo es ana@ejemplo.com", [("email", "ana@ejemplo.com")]),
        ("My email: Ana.Lopez@Ejemplo.COM.", [("email", "ana.lopez@ejemplo.com")]),
        ("escríbeme a <maría@correo.mx>, gracias", [("email", "maría@correo.mx")]),
        ("mi número es +52 55 1234 5678", [("phone", "+525512345678")]),
        ("llámame al 55-1234-5678 por favor", [("phone", "+525512345678")]),
        ("(55) 1234.5678", [("phone", "+525512345678")]),
        ("tel 5512345678", [("phone", "+525512345678")]),
        ("mi cel: 55 1234 5678, gracias", [("phone", "+525512345678")]),
        ("whatsapp +52 1 55 1234 5678", [("phone", "+525512345678")]),
        ("call me at +1 (415) 555-2671", [("phone", "+14155552671")]),
        (
            "soy ana@ejemplo.com y mi tel es 55 1234 5678",
            [("email", "ana@ejemplo.com"), ("phone", "+525512345678")],
        ),
    ],
)
def test_extracts_what_the_sender_wrote(text: str, expected: list[tuple[str, str]]) -> None:
    assert extract(text, "MX") == [Extracted(kind, value) for kind, value in expected]


@pytest.mark.parametrize(
    "text",
    [
        "mi pedido #5512345678 no ha llegado",
        "orden 5512345678",
        "order no. 5512345678",
        "número de guía 5512345678",
        "tracking 1Z999AA10123456784",
        "el folio es 5512345678",
        "nací el 12/05/2024",
        "fecha 2024-05-12",
        "cuesta $1,234,567.00",
        "son 5512345678 pesos",
        "código AB5512345678",
        "mi número es 12345",
        "llama al 555-1234",
        "1234567890123456789",
        "correo roto ana@ejemplo",
        "",
    ],
)
def test_false_positives_are_not_suggested(text: str) -> None:
    assert extract(text, "MX") == []


def test_nothing_but_the_normalised_values_is_kept() -> None:
    found = extract("Hola, soy Ana, mi correo es ANA@EJEMPLO.COM y vivo en Puebla", "MX")
    assert found == [Extracted("email", "ana@ejemplo.com")]

"""The one Logger / Tracer / Metrics set shared by every function.

Powertools' ``Tracer()`` imports the X-Ray SDK even when tracing is disabled (~200 ms of cold start,
most of a handler's import). Lambda's active tracing (template.yaml ``Tracing: Active``) records
each invocation without any SDK; the SDK only adds subsegments. So the SDK's Tracer is built only
when Powertools would trace (POWERTOOLS_TRACE_DISABLED is not true, in Lambda); otherwise handlers
get ``NoTracer``, which has the Tracer methods this code uses and does nothing (docs/ARCHITECTURE.md,
"Cold start").
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer


def tracing_enabled(env: dict[str, str] | None = None) -> bool:
    """Powertools' own rule: on in Lambda (not SAM local) unless POWERTOOLS_TRACE_DISABLED is true."""
    env = dict(os.environ if env is None else env)
    if env.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in {"1", "true", "yes", "on", "y"}:
        return False
    return bool(env.get("LAMBDA_TASK_ROOT")) and not env.get("AWS_SAM_LOCAL")


class NoTracer:
    """Tracer's decorators and annotations as no-ops: tracing off costs no X-Ray SDK import."""

    disabled = True

    def capture_lambda_handler(self, lambda_handler: Any = None, **_options: Any) -> Any:
        if lambda_handler is None:
            return lambda function: function
        return lambda_handler

    def capture_method(self, method: Any = None, **_options: Any) -> Any:
        if method is None:
            return lambda function: function
        return method

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        return None


def _tracer() -> Tracer:
    if not tracing_enabled():
        return NoTracer()  # type: ignore[return-value]
    from aws_lambda_powertools import Tracer

    return Tracer()


logger = Logger()
tracer: Tracer = _tracer()
metrics = Metrics()


def count(name: str, value: float = 1, **dimensions: str) -> None:
    """One data point of a metric with a fixed name, split by ``dimensions`` (e.g. ``outcome``).
    ``metrics`` holds one dimension set per invocation; a batch whose records end differently
    needs one per data point, which is Powertools' ``single_metric`` (an EMF line of its own)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled

    if is_metrics_disabled():
        return
    with single_metric(
        name=name, unit=MetricUnit.Count, value=value, default_dimensions=dimensions
    ) as metric:
        metric.add_dimension(name="service", value=str(metrics.service or "inbox-crm"))

"""The CloudWatch alarms of template.yaml, generated from what the template declares.

Every function gets an Errors and a Throttles alarm, every dead-letter queue (a queue some redrive
policy, dead-letter config or on-failure destination names) a depth alarm, every HTTP API a 5xx
alarm; all notify ``AlarmTopic``. The block sits between two marker lines in template.yaml;
``make alarms`` rewrites it, tests/unit/test_alarms.py fails when it is stale or misses something.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from inbox_local.template import TEMPLATE_PATH, load_template

BEGIN = (
    "  # ---------------------------------------------------------------- alarms (generated: `make alarms`)\n"
)
END = "  # ---------------------------------------------------------------- end of generated alarms\n"
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
QUEUE_TYPE = "AWS::SQS::Queue"
# Keys under which a queue is where failed work goes.
DEAD_LETTER_KEYS = {"deadLetterTargetArn", "DeadLetterConfig", "DeadLetterQueue", "OnFailure"}


def _referenced(value: Any) -> Iterator[str]:
    """Logical ids that a value references (Ref, GetAtt, ${X} / ${X.Arn} in Sub)."""
    if isinstance(value, list):
        for item in value:
            yield from _referenced(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref":
                yield str(item)
            elif key == "Fn::GetAtt":
                yield str(item[0] if isinstance(item, list) else item.split(".")[0])
            elif key == "Fn::Sub" and isinstance(item, str):
                yield from (part.split("}")[0].split(".")[0] for part in item.split("${")[1:])
            else:
                yield from _referenced(item)


def dead_letter_queues(resources: dict[str, dict[str, Any]]) -> list[str]:
    """Queues named as a dead-letter or on-failure target anywhere, in template order."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in DEAD_LETTER_KEYS:
                    found.update(
                        name
                        for name in _referenced(item)
                        if resources.get(name, {}).get("Type") == QUEUE_TYPE
                    )
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(resources)
    return [logical_id for logical_id in resources if logical_id in found]


def _alarm(
    logical_id: str,
    description: str,
    namespace: str,
    metric: str,
    dimensions: list[tuple[str, str]],
    statistic: str = "Sum",
) -> str:
    lines = [
        f"  {logical_id}:",
        "    Type: AWS::CloudWatch::Alarm",
        "    Properties:",
        f"      AlarmDescription: {description}",
        f"      Namespace: {namespace}",
        f"      MetricName: {metric}",
        "      Dimensions: ["
        + ", ".join(f"{{Name: {name}, Value: {value}}}" for name, value in dimensions)
        + "]",
    ]
    lines += [
        f"      Statistic: {statistic}",
        "      Period: 300",
        "      EvaluationPeriods: 1",
        "      Threshold: 0",
        "      ComparisonOperator: GreaterThanThreshold",
        "      TreatMissingData: notBreaching",
        "      AlarmActions: [!Ref AlarmTopic]",
        "      OKActions: [!Ref AlarmTopic]",
    ]
    return "\n".join(lines) + "\n"


def generate(resources: dict[str, dict[str, Any]] | None = None) -> str:
    resources = resources if resources is not None else load_template().resources
    blocks = []
    for logical_id, resource in resources.items():
        if resource["Type"] in FUNCTION_TYPES:
            for metric, what in (("Errors", "failed invocations"), ("Throttles", "throttled invocations")):
                blocks.append(
                    _alarm(
                        f"{logical_id}{metric}Alarm",
                        f"{logical_id} had {what}",
                        "AWS/Lambda",
                        metric,
                        [("FunctionName", f"!Ref {logical_id}")],
                    )
                )
        elif resource["Type"] == "AWS::Serverless::HttpApi":
            stage = (resource.get("Properties") or {}).get("StageName", "$default")
            blocks.append(
                _alarm(
                    f"{logical_id}ServerErrorsAlarm",
                    f"{logical_id} answered 5xx",
                    "AWS/ApiGateway",
                    "5xx",
                    [("ApiId", f"!Ref {logical_id}"), ("Stage", f'"{stage}"')],
                )
            )
    for queue in dead_letter_queues(resources):
        blocks.append(
            _alarm(
                f"{queue}DepthAlarm",
                f"{queue} holds failed work",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                [("QueueName", f"!GetAtt {queue}.QueueName")],
                statistic="Maximum",
            )
        )
    return BEGIN + "\n".join(blocks) + END


def split(text: str) -> tuple[str, str, str]:
    """template.yaml as (before, generated block, after)."""
    start = text.index(BEGIN)
    end = text.index(END, start) + len(END)
    return text[:start], text[start:end], text[end:]


def write(path: Path = TEMPLATE_PATH) -> bool:
    """Rewrite the generated block; whether anything changed."""
    text = path.read_text(encoding="utf-8")
    before, block, after = split(text)
    load_template.cache_clear()
    fresh = generate()
    if fresh == block:
        return False
    path.write_text(before + fresh + after, encoding="utf-8")
    return True


if __name__ == "__main__":
    changed = write()
    sys.stdout.write(
        "template.yaml: alarms regenerated\n" if changed else "template.yaml: alarms up to date\n"
    )

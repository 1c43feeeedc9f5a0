"""Alarms: every function's errors and throttles, every dead-letter queue's depth and the API's 5xx
answers notify one SNS topic, whose e-mail subscription is the optional AlarmEmail parameter.

Checked on the template as CloudFormation receives it (SAM-expanded), so a function or dead-letter
queue added later without its alarms — including one SAM generates — fails here."""

from __future__ import annotations

from functools import cache
from typing import Any

from inbox_local.template import TEMPLATE_PATH, load_template
from support import alarms
from support.iam import expand


@cache
def expanded() -> dict[str, Any]:
    return expand()["Resources"]


def _alarms() -> list[dict[str, Any]]:
    return [r["Properties"] for r in expanded().values() if r["Type"] == "AWS::CloudWatch::Alarm"]


def _target(value: Any) -> str:
    """The logical id a dimension value names: Ref X, GetAtt X.Attr or [X, Attr]."""
    if "Ref" in value:
        return str(value["Ref"])
    get_att = value["Fn::GetAtt"]
    return str(get_att[0] if isinstance(get_att, list) else get_att.split(".")[0])


def _watched(namespace: str, metric: str, dimension: str) -> list[str]:
    return [
        _target(dimensions[dimension])
        for alarm in _alarms()
        if alarm["Namespace"] == namespace and alarm["MetricName"] == metric
        for dimensions in [{d["Name"]: d["Value"] for d in alarm["Dimensions"]}]
        if dimension in dimensions
        and alarm["Threshold"] == 0
        and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    ]


def _of_type(resource_type: str) -> list[str]:
    return [logical_id for logical_id, r in expanded().items() if r["Type"] == resource_type]


def test_every_function_has_an_errors_and_a_throttles_alarm() -> None:
    functions = _of_type("AWS::Lambda::Function")
    assert len(functions) >= len(load_template().functions)
    for metric in ("Errors", "Throttles"):
        watched = _watched("AWS/Lambda", metric, "FunctionName")
        assert [f for f in functions if f not in watched] == [], metric


def test_every_dead_letter_queue_has_a_depth_alarm() -> None:
    queues = alarms.dead_letter_queues(expanded())
    # The template's own dead-letter queues, and any queue SAM generates as one.
    assert {"InboundDeadLetterQueue", "EventsDeadLetterQueue", "SchedulerDeadLetterQueue"} <= set(queues)
    watched = _watched("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName")
    assert [q for q in queues if q not in watched] == []


def test_the_api_5xx_answers_have_an_alarm() -> None:
    apis = _of_type("AWS::ApiGatewayV2::Api")
    assert apis
    watched = _watched("AWS/ApiGateway", "5xx", "ApiId")
    assert [api for api in apis if api not in watched] == []


def test_every_alarm_notifies_the_topic_whose_email_is_optional() -> None:
    assert all(alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] for alarm in _alarms())
    template = load_template().raw
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert subscription["Condition"] == "HasAlarmEmail"
    assert template["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""


def test_the_generated_alarms_are_up_to_date() -> None:
    _, block, _ = alarms.split(TEMPLATE_PATH.read_text(encoding="utf-8"))
    assert block == alarms.generate(), "template.yaml's alarms are stale: run `make alarms`"


def test_a_new_function_or_dead_letter_queue_gets_its_alarms() -> None:
    resources = dict(load_template().resources)
    resources["OutboxDeadLetterQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    resources["OutboxRelayFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "Events": {
                "Stream": {
                    "Type": "DynamoDB",
                    "Properties": {
                        "DestinationConfig": {
                            "OnFailure": {"Destination": {"Fn::GetAtt": "OutboxDeadLetterQueue.Arn"}}
                        }
                    },
                }
            }
        },
    }
    block = alarms.generate(resources)
    for alarm in (
        "OutboxRelayFunctionErrorsAlarm",
        "OutboxRelayFunctionThrottlesAlarm",
        "OutboxDeadLetterQueueDepthAlarm",
    ):
        assert f"  {alarm}:\n" in block

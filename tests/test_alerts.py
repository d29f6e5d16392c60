from joshua.risk.alerts import Reading, alerts_for


def levels(current, previous=None):
    return [(a.level, a.kind) for a in alerts_for(current, previous)]


def test_apocalyptic_and_critical():
    assert levels(Reading(45, "critical", 0.8, "stable")) == [("Apocalyptic", "threshold"), ("Critical", "band")]
    assert levels(Reading(90, "critical", 0.8, "stable")) == [("Critical", "band")]
    assert levels(Reading(500, "moderate", 0.8, "stable")) == []


def test_moves_toward_midnight():
    before = Reading(300, "high", 0.8, "stable")
    assert levels(Reading(265, "high", 0.8, "stable"), before) == [("Severe", "move")]  # 35 s
    assert levels(Reading(280, "high", 0.8, "stable"), Reading(200 + 100, "high", 0.8, "stable")) == [("Warning", "move")]
    assert levels(Reading(85, "critical", 0.8, "stable"), Reading(95, "critical", 0.8, "stable")) == [
        ("Critical", "band"),
        ("Severe", "move"),  # 10 s is 10.5 % of 95
    ]
    assert levels(Reading(297, "high", 0.8, "stable"), before) == []  # 3 s
    assert levels(Reading(400, "moderate", 0.8, "stable"), before) == []  # away from midnight


def test_confidence_drop_and_trend_change():
    before = Reading(300, "high", 0.85, "stable")
    alerts = alerts_for(Reading(300, "high", 0.60, "rising", 0.01), before)
    assert [(a.level, a.kind) for a in alerts] == [("Warning", "confidence"), ("Info", "trend")]
    assert alerts[0].value == 25.0 and alerts[1].value == 0.01
    assert levels(Reading(300, "high", 0.85, "rising"), Reading(300, "high", 0.85, "rising")) == []

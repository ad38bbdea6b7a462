"""The pure choice of "Accept automatically": cheapest eligible, and why each other bid lost."""

from __future__ import annotations

from decimal import Decimal

from bot.core.create.auto_accept import Rule, choose, read_rule


def bid(address: str, price: str, state: str = "open") -> dict[str, object]:
    return {"provider_address": address, "price_per_hour_usd": price, "state": state}


PROVIDERS = {
    "akash1a": {"name": "alpha", "is_audited": True, "uptime_7d": 0.999},
    "akash1b": {"name": "beta", "is_audited": True, "uptime_7d": 0.95},
    "akash1c": {"name": "cheapo", "is_audited": False, "uptime_7d": 0.999},
    "akash1d": {"name": "delta", "is_audited": True, "uptime_7d": 0.999},
}


def test_cheapest_audited_under_the_max_wins_and_the_rest_say_why() -> None:
    rule = Rule(after=0, max_price=Decimal("1.00"))
    bids = [
        bid("akash1a", "0.80"),
        bid("akash1b", "0.60"),
        bid("akash1c", "0.10"),
        bid("akash1d", "1.50"),
        bid("akash1a", "0.01", state="closed"),
    ]
    choice = choose(rule, bids, PROVIDERS)
    assert choice.chosen is not None and choice.chosen["provider_address"] == "akash1b"
    why = {p.bid["provider_address"]: p.why for p in choice.passed}
    assert why == {
        "akash1a": "more expensive",
        "akash1c": "provider not audited",
        "akash1d": "over the max price",
    }


def test_allow_list_and_minimum_uptime_narrow_it() -> None:
    bids = [bid("akash1a", "0.80"), bid("akash1b", "0.60")]
    listed = choose(Rule(0, Decimal(1), providers=("ALPHA",)), bids, PROVIDERS)
    assert listed.chosen is not None and listed.chosen["provider_address"] == "akash1a"
    uptime = choose(Rule(0, Decimal(1), min_uptime=0.99), bids, PROVIDERS)
    assert uptime.chosen is not None and uptime.chosen["provider_address"] == "akash1a"
    none = choose(Rule(0, Decimal(1), min_uptime=0.9999), bids, PROVIDERS)
    assert none.chosen is None and {p.why for p in none.passed} == {"uptime too low"}


def test_equal_prices_go_to_the_better_uptime() -> None:
    bids = [bid("akash1b", "0.60"), bid("akash1a", "0.60")]
    choice = choose(Rule(0, Decimal(1)), bids, PROVIDERS)
    assert choice.chosen is not None and choice.chosen["provider_address"] == "akash1a"


def test_the_form_rule_and_its_errors() -> None:
    errors: dict[str, str] = {}
    assert read_rule({"auto_accept": "no"}, Decimal(1), errors) is None
    rule = read_rule(
        {"auto_accept": "yes", "auto_providers": "alpha, akash1b", "auto_min_uptime": "95%"},
        Decimal("0.5"),
        errors,
    )
    assert errors == {} and rule is not None
    assert rule.after == 60 and rule.providers == ("alpha", "akash1b")
    assert rule.min_uptime == 0.95 and Rule.from_json(rule.to_json()) == rule
    read_rule(
        {"auto_accept": "yes", "auto_after": "-3", "auto_min_uptime": "x"}, Decimal(1), errors
    )
    assert set(errors) == {"auto_after", "auto_min_uptime"}

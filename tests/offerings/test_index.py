"""The offerings index: ranking, FAQ matches, filters, tokens and the per-snapshot cache."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.offerings import CatalogCache, OfferingIndex, UnknownName
from runtime.offerings.text import Speller, distance, query_terms, stem, terms
from runtime.snapshot import canonical_bytes, snapshot_id

from .test_quality import retail_index


def _offering(name: str, **spec: Any) -> dict[str, Any]:
    labels = spec.pop("labels", None)
    entry: dict[str, Any] = {"spec": {"type": "product", "displayName": name, **spec}}
    if labels:
        entry["labels"] = labels
    return entry


CATALOG = {
    "fibre": _offering(
        "Fibre 1000",
        description="Home broadband over fibre, one gigabit",
        labels={"line": "internet"},
        faq=[{"q": "Is installation included?", "a": "Yes, a technician visits."}],
    ),
    "tv": _offering("TV package", description="Sports and films", labels={"line": "tv"}),
    "router": _offering(
        "Wifi router", description="Mesh router", channels=["web"], labels={"line": "internet"}
    ),
}


def test_blank_queries_and_no_offerings_find_nothing() -> None:
    index = OfferingIndex.build(CATALOG)
    assert index.search("") == [] and index.search("   \n") == []
    assert index.search("the of and") == []  # only stop words
    assert index.search("fibre", k=0) == []
    assert OfferingIndex.build({}).search("fibre") == []


def test_hits_carry_name_score_display_name_and_price() -> None:
    hits = retail_index().search("alpine shell jacket for hiking", k=2)
    first = hits[0]
    assert (first.offering, first.matched, first.display_name) == (
        "alpine-shell",
        "offering",
        "Alpine Shell jacket",
    )
    assert first.price == {"amount": "289", "currency": "EUR", "period": "once"}
    assert first.score > hits[1].score > 0
    assert first.to_json() == {
        "offering": "alpine-shell",
        "score": first.score,
        "matched": "offering",
        "displayName": "Alpine Shell jacket",
        "price": first.price,
    }


def test_a_faq_question_matches_with_its_question() -> None:
    [hit] = retail_index().search("does it expire", k=1)
    assert (hit.offering, hit.matched, hit.question) == ("gift-card-50", "faq", "Does it expire?")
    assert hit.to_json()["question"] == "Does it expire?"
    [hit] = OfferingIndex.build(CATALOG).search("installation", k=1)
    assert (hit.offering, hit.matched, hit.price) == ("fibre", "faq", None)


def test_the_agents_selector_and_the_channel_filter() -> None:
    index = OfferingIndex.build(CATALOG)
    everything = {h.offering for h in index.search("router fibre tv sports")}
    assert everything == {"fibre", "tv", "router"}
    internet = {"catalog": {"line": "internet"}}
    assert {h.offering for h in index.search("router fibre tv sports", agent=internet)} == {
        "fibre",
        "router",
    }
    # router is offered on "web" only; offerings without channels are offered everywhere
    assert {h.offering for h in index.search("router fibre", channel="sms")} == {"fibre"}
    assert {h.offering for h in index.search("router fibre", channel="web")} == {"fibre", "router"}
    assert index.search("sports", agent={"catalog": {"line": "internet"}}) == []


def test_k_bounds_the_hits_best_first_and_ties_by_name() -> None:
    index = retail_index()
    assert len(index.search("membership", k=1)) == 1
    hits = index.search("acme plus membership free shipping", k=5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    twins = OfferingIndex.build({n: _offering("Same name") for n in ("b", "a", "c")})
    assert [h.offering for h in twins.search("same", k=2)] == ["a", "b"]


def test_stemmer_and_typo_correction() -> None:
    assert stem("shoes") == stem("shoe")
    assert stem("running") == stem("runner") == stem("run")
    assert stem("skis") == stem("ski")
    assert stem("monthly") == stem("month")
    assert terms("The Trail-Runner's shoes!") == ["trail", "run", "s", "sho"]
    assert distance("tnet", "tent", 1) == 1 and distance("collect", "comfort", 2) == 3
    speller = Speller(["headlamp", "waterproof", "jacket", "dome"])
    assert speller.correct("hedlamp") == ("headlamp",)
    assert speller.correct("waterprof") == ("waterproof",)
    assert speller.correct("home") == ()  # first letters are trusted
    assert speller.correct("xyzzy") == ()
    known = {terms(w)[0] for w in speller.words}
    assert query_terms("head lamp", speller, known)[-1] == stem("headlamp")


def test_typos_still_find_the_offering() -> None:
    index = retail_index()
    for query, expected in [
        ("waterprof jaket", "alpine-shell"),
        ("hedlamp", "headlamp-400"),
        ("sleping bag", "down-bag-minus5"),
        ("tnet", "basecamp-tent-3p"),
    ]:
        assert index.search(query, k=1)[0].offering == expected, query


def _body(offerings: dict[str, Any], agents: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "offerings": offerings,
        "agents": agents or {"sales": {"spec": {"catalog": {"line": "tv"}}}},
        "channels": {"web": {"spec": {}}},
    }


def test_the_cache_builds_once_per_snapshot_and_drops_inactive_ones() -> None:
    cache = CatalogCache()
    raw1 = canonical_bytes(_body(CATALOG))
    id1 = snapshot_id(raw1)
    first = cache.get(id1, raw1, {id1})
    assert cache.get(id1, raw1, {id1}) is first
    raw2 = canonical_bytes(_body({"tv": CATALOG["tv"]}))
    id2 = snapshot_id(raw2)
    second = cache.get(id2, raw2, {id2})  # id1 is no longer served: dropped
    assert len(cache) == 1 and second.snapshot == id2
    assert [h.offering for h in second.search("fibre tv")] == ["tv"]
    assert [h.offering for h in first.search("fibre tv", agent="sales")] == ["tv"]
    with pytest.raises(UnknownName, match="no enabled agent 'nobody'"):
        first.search("tv", agent="nobody")
    with pytest.raises(UnknownName, match="no channel profile 'fax'"):
        first.search("tv", channel="fax")

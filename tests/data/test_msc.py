"""The shipped MSC list and the two domain classifiers."""

from __future__ import annotations

from dataclasses import dataclass

from s1_data.msc import (
    LexicalClassifier,
    ModelClassifier,
    classification_prompt,
    load_domains,
    parse_domain,
)


def test_shipped_msc_list():
    domains = load_domains()
    codes = [d.code for d in domains]
    assert len(domains) == 63 and len(set(codes)) == 63
    assert {"05", "11", "51", "60", "70", "81", "92"} <= set(codes)
    assert all(d.name and d.keywords for d in domains)


def test_lexical_classifier_on_planted_domains(planted):
    clf = LexicalClassifier()
    items = [it for it in planted.items if it.get("planted_domain") and it["question"]]
    right = sum(clf.classify(it["question"]).code == it["planted_domain"] for it in items)
    assert right / len(items) >= 0.9, right / len(items)


def test_lexical_classifier_beyond_its_examples():
    clf = LexicalClassifier()
    cases = {
        "How many ways can 8 rooks be placed on a chessboard so that no two attack each other?": "05",
        "Find the smallest prime p such that p^2 + 2 is also prime.": "11",
        "A ladder leans against a wall at an angle of 60 degrees; the triangle formed has area 12.": "51",
        "An urn has 3 red and 5 blue balls; two are drawn at random. Find the probability both are blue.": "60",
        "A 3 kg mass on a spring oscillates with velocity 2 m/s at equilibrium. Find its kinetic energy.": "70",
        "Compute the determinant of the matrix with rows (1, 2) and (3, 4).": "15",
    }
    for q, code in cases.items():
        assert clf.classify(q).code == code, (q, clf.classify(q))
    none = clf.classify("xa xb xc")
    assert none.code == "00" and none.confidence == 0.0


def test_parse_domain():
    assert parse_domain("11") == "11"
    assert parse_domain("The domain is 05 Combinatorics.") == "05"
    assert parse_domain("Number theory") == "11"
    assert parse_domain("xa xb xc") is None
    assert parse_domain("99") is None


@dataclass
class _Res:
    answer: str
    thinking: str = ""


class FakeEngine:
    def __init__(self, answers):
        self.answers = answers
        self.prompts = []

    def generate_many(self, prompts, policies):
        self.prompts.extend(prompts)
        return [_Res(self.answers[i % len(self.answers)]) for i in range(len(prompts))]


def test_model_classifier_reads_codes_and_falls_back():
    eng = FakeEngine(["51", "I think it is Probability theory"])
    clf = ModelClassifier(eng, policy=None, model_name="fake")
    out = clf.classify_many(["What is 2+2?", "Roll a die."])
    assert [c.code for c in out] == ["51", "60"]
    assert out[0].classifier == "model:fake"
    assert "11 Number theory" in eng.prompts[0] and "What is 2+2?" in eng.prompts[0]
    eng2 = FakeEngine(["no idea"])
    out = ModelClassifier(eng2, None, "fake").classify_many(
        ["Find the remainder when 7^5 is divided by 3."]
    )
    assert out[0].code == "11" and out[0].classifier == "model:fake>lexical"


def test_model_classifier_through_the_engine(hf_engine):
    """The scripted model answers 'xa xb xc': no code, so the lexical fallback decides."""
    from s1_data.stages.diversity import classify_policy

    clf = ModelClassifier(hf_engine, classify_policy(16), "scripted")
    out = clf.classify_many(["Two dice are rolled. What is the probability of a double?"])
    assert out[0].code == "60" and out[0].classifier == "model:scripted>lexical"
    assert "Mathematics Subject Classification" in classification_prompt("q")

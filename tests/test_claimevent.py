"""The claim's event: its form, parties, object and whether it states a fact, found alike in every claim form."""

from __future__ import annotations

import pytest

from monitor.reading import cues
from monitor.reading.claimevent import claim_event


@pytest.mark.parametrize(("claim", "form", "lemma", "parties", "obj", "fact"), [
    ("Iraq and the US sign the withdrawal agreement", "statement", "sign", ("iraq", "us"),
     ("withdrawal", "agreement"), False),
    ("Will Iraq and the US sign the withdrawal agreement?", "question", "sign", ("iraq", "us"),
     ("withdrawal", "agreement"), False),
    ("When will the Senate ratify the treaty?", "question", "ratify", ("senate",), ("treaty",), False),
    ("Will the Fed raise rates", "question", "raise", ("fed",), ("rates",), False),
    ("Has the pope died?", "question", "die", ("pope",), (), True),
    ("Is Fidel Castro dead?", "question", "dead", ("fidel", "castro"), (), True),
    ("Did two men keep a burger for 20 years?", "question", "keep", ("two", "men"), ("burger", "20", "years"),
     True),
    ("Iran is expected to release the aid worker", "statement", "release", ("iran",), ("aid", "worker"), False),
    ("Signing of the withdrawal agreement by Iraq and the US", "noun", "sign", (),
     ("withdrawal", "agreement", "iraq", "us"), False),
    ("Iraq-US signing of the withdrawal agreement", "noun", "sign", ("iraq", "us"), ("withdrawal", "agreement"),
     False),
    ("Kishida's resignation", "noun", "resign", ("kishida",), (), False),
    ("Ratification of the treaty by the Senate", "noun", "ratify", (), ("treaty", "senate"), False),
    ("Election of Lula as president", "noun", "elect", (), ("lula", "president"), False),
    ("Boeing's delivery of the 777X to Emirates", "noun", "deliver", ("boeing",), ("777x", "emirates"), False),
    ("Approval of the merger by regulators", "noun", "approve", (), ("merger", "regulators"), False),
    ("The signing of the accord is expected in May", "statement", "sign", (), ("accord",), False),
    ("The vote will take place on Sunday", "statement", "vote", (), (), False),
    # present passive of a family verb: what is to happen, like "will be ratified"; past and perfect stay facts
    ("The peace deal with the rebels is ratified", "statement", "ratify", ("peace", "deal", "rebels"), (), False),
    ("The peace deal with the rebels was ratified", "statement", "ratify", ("peace", "deal", "rebels"), (), True),
    ("The peace deal has been ratified", "statement", "ratify", ("peace", "deal"), (), True),
    # a verb in no list, found by its place: lower case after the subject, before the object's determiner
    ("The United States and Iran revive the nuclear deal", "statement", "revive", ("united", "states", "iran"),
     ("nuclear", "deal"), True),
])
def test_claim_event(claim, form, lemma, parties, obj, fact) -> None:
    event = claim_event(claim)
    assert (event.form, event.parties, event.object, event.fact) == (form, parties, obj, fact)
    assert event.found and (lemma in event.verbs[0].lemmas or lemma in cues.FAMILIES[event.verbs[0].family].verbs
                            or lemma in cues.FAMILIES[event.verbs[0].family].states)


@pytest.mark.parametrize("claim", [
    "Will Smith slaps Chris Rock",  # a name, not a question: no "?" and no determiner after "Will"
    "A jurisdiction of Texas is now under Sharia law",  # a state, not a noun phrase
    "There's an audio recording of the shooting",
    "Two office workers in an epic battle over a stolen sandwich",
])
def test_claim_event_is_not_read_into_other_forms(claim) -> None:
    assert claim_event(claim).form == "statement"


def test_claim_event_not_found() -> None:
    event = claim_event("Two office workers in an epic battle over a stolen sandwich")
    assert (event.found, event.word, event.fact) == (False, None, True)

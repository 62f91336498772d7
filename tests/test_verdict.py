"""Verdict rules: a table of claims and stories across event types, the Iraq-US scenarios, every claim form, and
nominalised cues in headlines."""

from __future__ import annotations

import pytest
from conftest import scenario_story_params

from monitor.models import Verdict
from monitor.reading.verdict import PreparedVerdict, VerdictResult, judge, prepare_verdict

IRAQ_CLAIM = "Iraq and the United States sign the agreement on the withdrawal of the US-led coalition"
ARABIC_CUES = {"confirmed": ["وقع", "يوقع", "يوقعان"]}

SIGN = "Iraq and the United States will sign the coalition withdrawal agreement"
BILL = "The House passes the debt ceiling bill"
RESIGN = "Japanese Prime Minister Fumio Kishida will resign"
LAUNCH = "Apple will launch a foldable iPhone this year"
ELECTION = "Lula wins the Brazilian presidential election"
DEAL = "Microsoft completes its acquisition of Activision Blizzard"
RELEASE = "Iran releases the detained British-Iranian aid worker Nazanin Zaghari-Ratcliffe"
CEASEFIRE = "Israel and Hezbollah agree to a ceasefire"
MERGER = "Paramount and Skydance merge"
DIED = "Fidel Castro has died"
ARREST = "Banksy was arrested in London"
KEPT = "Two men kept a burger for 20 years"
DELIVER = "Boeing will deliver the first 777X to Emirates"
RATES = "The Fed raises interest rates"
BAN = "Twitter bans Alex Jones"
WEDDING = "Prince Harry and Meghan Markle marry"
NOMINEE = "The Senate confirms Pete Hegseth as defense secretary"
SWAP = "Russia and Ukraine exchange prisoners"
HOSTAGES = "Hamas frees the remaining Israeli hostages"
POPE = "The pope has died"
MUSK = "Elon Musk was arrested in Paris"
RESTAURANT = "North Korea plans to open a restaurant in Scotland"

C, D, R, P = Verdict.CONFIRMED, Verdict.DELAYED, Verdict.REJECTED, Verdict.PENDING

# (claim, title, summary, expected). Written as headlines and ledes are written; the summary is often empty
# because many feeds carry only a title.
CASES = [
    # signings
    (SIGN, "Iraq, US formally sign coalition withdrawal pact in Baghdad", "", C),
    (SIGN, "Baghdad and Washington put pen to paper on troop withdrawal deal", "", C),
    (SIGN, "Iraq and US to sign withdrawal deal on Monday", "", P),
    (SIGN, "Signing of Iraq-US withdrawal pact pushed back to next month", "", D),
    (SIGN, "Iraq says withdrawal deal with US will not be signed before the elections", "", D),
    (SIGN, "US officials deny Iraq withdrawal agreement has been signed", "", R),
    (SIGN, "Has Iraq signed the withdrawal deal with the US?", "", P),
    (SIGN, "Iraq and US sign troop withdrawal accord, state media reports", "", P),
    (SIGN, "Withdrawal talks between Iraq and the US collapse", "", R),
    (SIGN, "Iraq and US still haven't signed the withdrawal agreement", "", D),
    (SIGN, "Iraqi cabinet approves draft of US withdrawal agreement", "The signing is expected later this month.", P),
    (SIGN, "Iraq and US sign deal; Iran condemns the move", "", C),
    (SIGN, "Iraq and US sign troop withdrawal deal",
     "The accord has not yet been ratified by the Iraqi parliament, which is expected to vote in June.", C),
    (SIGN, "Will Iraq sign the US withdrawal deal?",
     "The signing has been postponed until after the holidays, officials said.", D),
    (SIGN, "Iraq-US withdrawal: what happens next",
     "Iraq and the United States signed the agreement on Thursday. Troops will leave in two phases.", C),
    (SIGN, "Officials deny reports the deal was signed", "", R),
    (SIGN, "Iraqi minister: maybe we will sign the agreement in the next few days", "", P),
    (SIGN, "Iraq has no plans to sign the withdrawal agreement with Washington, PM says", "", R),
    # parliamentary votes and bills
    (BILL, "House passes debt ceiling bill in late-night vote", "", C),
    (BILL, "Debt ceiling bill fails in the House as hardliners revolt", "", R),
    (BILL, "House vote on debt ceiling bill delayed until next week", "", D),
    (BILL, "House set to vote on debt ceiling bill Wednesday", "", P),
    (BILL, "House Republicans vote down debt ceiling bill", "", R),
    (BILL, "The House did not pass the debt ceiling bill, leaving a default looming", "", R),
    (BILL, "Debt ceiling bill clears the House", "", C),
    (BILL, "Will the House pass the debt ceiling bill?", "", P),
    (BILL, "House leaders confident debt bill will pass on Thursday", "", P),
    # resignations
    (RESIGN, "Kishida resigns as Japan's prime minister", "", C),
    (RESIGN, "Kishida to step down as prime minister, party sources say", "", P),
    (RESIGN, "Kishida says he will not resign despite funding scandal", "", R),
    (RESIGN, "Kishida refuses to quit over party funding scandal", "", R),
    (RESIGN, "Kishida announces his resignation, ending a three-year tenure", "", C),
    (RESIGN, "Kishida resignation expected after the budget passes", "", P),
    (RESIGN, "Japan PM Kishida steps down", "He told reporters he would take responsibility for the scandal.", C),
    (RESIGN, "Kishida under pressure to resign as approval slumps", "", P),
    # product launches
    (LAUNCH, "Apple unveils its first foldable iPhone", "", C),
    (LAUNCH, "Apple's foldable iPhone launch slips to 2027, analyst says", "", D),
    (LAUNCH, "Apple may launch a foldable iPhone next year, says supply chain analyst", "", P),
    (LAUNCH, "Apple reportedly shelves foldable iPhone plans", "", P),
    (LAUNCH, "Apple scraps foldable iPhone project", "", R),
    (LAUNCH, "Apple's foldable iPhone goes on sale", "", C),
    (LAUNCH, "Apple launch event set for September 9", "", P),
    (LAUNCH, "Foldable iPhone: what we know so far", "", P),
    # elections
    (ELECTION, "Lula wins Brazil's presidential runoff", "", C),
    (ELECTION, "Lula defeats Bolsonaro to win Brazil presidency", "", C),
    (ELECTION, "Lula leads Bolsonaro in early count", "", P),
    (ELECTION, "Bolsonaro refuses to concede after Lula victory", "", C),
    (ELECTION, "Lula loses Brazil election", "", R),
    (ELECTION, "Lula poised to win Brazil election, polls show", "", P),
    # mergers and acquisitions
    (DEAL, "Microsoft closes $69 billion Activision deal", "", C),
    (DEAL, "UK regulator blocks Microsoft's Activision takeover", "", R),
    (DEAL, "Microsoft-Activision deadline extended as FTC fight drags on", "", D),
    (DEAL, "Microsoft has not yet completed the Activision deal", "", D),
    (DEAL, "Microsoft expects to complete Activision acquisition by June", "", P),
    (DEAL, "Microsoft abandons Activision bid", "", R),
    (DEAL, "Microsoft's Activision purchase finalized after regulatory win", "", C),
    (MERGER, "Paramount and Skydance complete merger", "", C),
    (MERGER, "Paramount, Skydance call off merger talks", "", R),
    (MERGER, "Paramount-Skydance merger could close by the end of the year", "", P),
    # releases of prisoners and hostages
    (RELEASE, "Nazanin Zaghari-Ratcliffe freed by Iran and on her way home", "", C),
    (RELEASE, "Iran to release Zaghari-Ratcliffe in prisoner swap, lawyer says", "", P),
    (RELEASE, "Iran denies plans to free Zaghari-Ratcliffe", "", R),
    (RELEASE, "Zaghari-Ratcliffe release delayed over debt dispute", "", D),
    (RELEASE, "Zaghari-Ratcliffe is still being held in Tehran, husband says", "", P),
    (RELEASE, "Zaghari-Ratcliffe lands in UK after being released by Iran", "", C),
    # ceasefires
    (CEASEFIRE, "Israel and Hezbollah agree to US-brokered ceasefire", "", C),
    (CEASEFIRE, "Israel rejects Hezbollah ceasefire proposal", "", R),
    (CEASEFIRE, "Israel, Hezbollah close in on ceasefire deal, officials say", "", P),
    (CEASEFIRE, "Ceasefire talks between Israel and Hezbollah stall", "", D),
    (CEASEFIRE, "Israel and Hezbollah reach ceasefire agreement", "", C),
    (CEASEFIRE, "Israel and Hezbollah have not agreed a ceasefire, despite reports", "", P),
    # rumoured facts: deaths, arrests, curiosities
    (DIED, "Fidel Castro dies at 90", "", C),
    (DIED, "Fidel Castro is alive and well, Cuban officials insist", "", R),
    (DIED, "Rumours of Fidel Castro's death spread on social media", "", P),
    (DIED, "Fidel Castro not dead, says his son", "", R),
    (DIED, "Cuba mourns Fidel Castro", "Crowds lined the streets of Havana after the death of the former leader.", C),
    (DIED, "Is Fidel Castro dead?", "", P),
    (ARREST, "Police deny arresting Banksy", "", R),
    (ARREST, "Banksy arrest story was a hoax", "", R),
    (ARREST, "Banksy reportedly arrested in London", "", P),
    (ARREST, "Police have not arrested Banksy, Met says", "", R),
    (ARREST, "Banksy arrested in London, identity revealed", "", C),
    (KEPT, "Men keep burger for 20 years and it still looks new", "", C),
    (KEPT, "World's oldest burger looks just like new", "", C),
    (KEPT, "Did two men really keep a burger for 20 years?", "", P),
    (KEPT, "Man claims to have kept a burger for two decades", "", P),
    # Written after the rules above were in place, as a check on them: 28 of these 31 came out right at once; the
    # three misses led to general rules ("no" negating a noun phrase, a withdrawn nomination or bid is rejected)
    # and one stays a known limit ("Pope in critical condition" for "the pope has died": a relevant story about
    # a rumoured fact that restates no part of it is read as asserting it; see test_known_limits).
    (DELIVER, "Boeing delivers first 777X to Emirates after years of delays", "", C),
    (DELIVER, "Boeing pushes back first 777X delivery to 2026", "", D),
    (DELIVER, "Emirates says it has not received its first 777X", "", P),
    (DELIVER, "Boeing 777X deliveries could slip again, CEO warns", "", P),
    (DELIVER, "Emirates cancels its 777X order", "", R),
    (RATES, "Fed hikes rates by a quarter point", "", C),
    (RATES, "Fed expected to raise rates next week", "", P),
    (RATES, "Fed officials signal no rate hike this year", "", R),
    (BAN, "Twitter permanently bans Alex Jones and Infowars", "", C),
    (BAN, "Twitter says it will not ban Alex Jones", "", R),
    (BAN, "Jack Dorsey defends decision not to ban Alex Jones", "", R),
    (WEDDING, "Harry and Meghan wed at Windsor Castle", "", C),
    (WEDDING, "Harry and Meghan to marry in May", "", P),
    (WEDDING, "Royal wedding: Harry and Meghan tie the knot", "", C),
    (NOMINEE, "Senate confirms Hegseth in tie-breaking vote", "", C),
    (NOMINEE, "Hegseth confirmation vote delayed amid new allegations", "", D),
    (NOMINEE, "Senate rejects Hegseth nomination", "", R),
    (NOMINEE, "Hegseth nomination withdrawn", "", R),
    (SWAP, "Russia and Ukraine swap 200 prisoners of war", "", C),
    (SWAP, "Russia and Ukraine carry out prisoner exchange", "", C),
    (SWAP, "Prisoner exchange between Russia and Ukraine postponed", "", D),
    (HOSTAGES, "Hamas releases last living hostages", "", C),
    (HOSTAGES, "Hamas says hostages will not be freed until Israel withdraws", "", D),
    (HOSTAGES, "Hostage release stalls as Hamas and Israel trade accusations", "", D),
    (POPE, "Pope Francis dies aged 88, Vatican says", "", C),
    (POPE, "Vatican denies rumours of pope's death", "", R),
    (MUSK, "Elon Musk arrested in Paris? Here's what we know", "", P),
    (MUSK, "No, Elon Musk was not arrested in Paris", "", R),
    (MUSK, "Police in Paris detain Elon Musk", "", C),
    (LAUNCH, "Apple won't launch a foldable iPhone until 2027, report says", "", D),
    # claims about an intention: stating the intention confirms it, a possibility does not
    (RESTAURANT, "Kim Jong-un to open restaurant in Scotland", "", C),
    (RESTAURANT, "Kim Jong-un considers opening a restaurant in Scotland", "", P),
    (RESTAURANT, "North Korea could open a restaurant in Scotland, report says", "", P),
]


@pytest.fixture(scope="module")
def prepared() -> dict[str, PreparedVerdict]:
    return {claim: prepare_verdict(claim) for claim in {case[0] for case in CASES}}


@pytest.mark.parametrize(("claim", "title", "summary", "expected"), CASES, ids=[c[1][:50] for c in CASES])
def test_table(
    prepared: dict[str, PreparedVerdict], claim: str, title: str, summary: str, expected: Verdict
) -> None:
    result = judge(prepared[claim], title, summary)
    assert result.verdict == expected, result


def test_a_text_read_for_one_claim_reads_the_same_for_the_next(prepared: dict[str, PreparedVerdict]) -> None:
    # A sentence is tokenised and scanned once and kept for the next claim judging it: nothing of one claim's
    # reading may carry over. Every claim judges every story, each time first on a fresh cache and after the others.
    from monitor.reading import verdict

    stories = sorted({(title, summary) for _, title, summary, _ in CASES})
    claims = list(prepared.values())
    fresh = {}
    for claim in claims:
        for title, summary in stories:
            for cached in (verdict._text, verdict._title_parts, verdict._sentences):
                cached.cache_clear()
            fresh[claim.claim_text, title, summary] = judge(claim, title, summary)
    for title, summary in stories:
        for claim in claims + claims[::-1]:
            assert judge(claim, title, summary) == fresh[claim.claim_text, title, summary], (claim.claim_text, title)


def test_table_is_large_and_varied() -> None:
    assert len(CASES) >= 60
    assert {case[3] for case in CASES} == {C, D, R, P}
    assert len({case[0] for case in CASES}) >= 10


@pytest.mark.parametrize("story", scenario_story_params(lambda s: s["expected"] != "unrelated"))
def test_scenario(story: dict) -> None:
    """Each relevant story of the signing timeline gets the verdict its day calls for."""
    options = {"outcomes": ARABIC_CUES} if story["lang"] == "ar" else {}
    result = judge(prepare_verdict(IRAQ_CLAIM, **options), story["title"], story["summary"])
    assert result.verdict == story["expected"], result


def test_result_quotes_the_cue_and_sentence_as_written() -> None:
    p = prepare_verdict(IRAQ_CLAIM)
    summary = "Talks went on for months. Baghdad and Washington have NOT signed the final agreement, officials said."
    result = judge(p, "Iraq-US withdrawal talks continue", summary)
    assert result == VerdictResult(
        P, "NOT signed", "Baghdad and Washington have NOT signed the final agreement, officials said."
    )
    assert judge(p, "Iraq and US sign deal - reports", "").verdict == P
    assert judge(p, "Iraq and US SIGN deal", "").cue == "SIGN"
    assert judge(p, "Iraq-US talks continue", "") == VerdictResult(P, None, None)
    assert judge(p, "", "") == VerdictResult(P, None, None)


def test_known_limits() -> None:
    """Cases the rules get wrong, kept visible. A relevant story about a rumoured fact that hedges nothing is read
    as asserting it, even when it only concerns the same subject (Emergent's headlines need that default)."""
    assert judge(prepare_verdict(POPE), "Pope in critical condition, Vatican says", "").verdict == C  # want P
    # "Defeats X to win" works only because "defeat" is a win verb; "to" + verb is otherwise read as future.
    assert judge(prepare_verdict(ELECTION), "Lula edges past Bolsonaro to win presidency", "").verdict == P  # want C


# ---------------------------------------------------------------- one event, every claim form


def _claim_forms(parties: str, verb: str, verbs: str, obj: str, noun_phrase: str, be: str = "are") -> dict[str, str]:
    """One event written as a statement, a question, a future, an expectation and a noun phrase."""
    return {
        "statement": f"{parties} {verbs} {obj}",
        "question": f"Will {parties} {verb} {obj}?",
        "will": f"{parties} will {verb} {obj}",
        "expected to": f"{parties} {be} expected to {verb} {obj}",
        "noun phrase": noun_phrase,
    }


# event -> (the claim in every form, stories with the verdict each form must give)
CLAIM_FORMS = {
    "sign": (_claim_forms("Iraq and the United States", "sign", "sign", "the coalition withdrawal agreement",
                          "Signing of the coalition withdrawal agreement by Iraq and the United States"), [
        ("Iraq-US talks go on",
         "Negotiators for Baghdad and Washington have not signed the final text, a spokesman said.", P),
        ("Iraq and US sign coalition withdrawal agreement", "", C),
        ("Baghdad and Washington signed the withdrawal accord on Tuesday", "", C),
        ("Iraq, US to sign withdrawal agreement next week", "", P),
        ("Withdrawal agreement signing postponed again", "", D),
        ("Iraq and US still have not signed the withdrawal agreement", "", D),
        ("US officials deny the withdrawal agreement was signed", "", R),
    ]),
    "ratify": (_claim_forms("The Senate", "ratify", "ratifies", "the arms control treaty",
                            "Ratification of the arms control treaty by the Senate", be="is"), [
        ("Senate ratifies arms control treaty in 67-33 vote", "", C),
        ("Senate ratification of arms treaty delayed until spring", "", D),
        ("Senate votes down arms control treaty", "", R),
        ("The Senate has not ratified the treaty, which still faces opposition", "", P),
        ("Senate to take up arms control treaty next week", "", P),
    ]),
    "release": (_claim_forms("Iran", "release", "releases", "the detained aid worker",
                             "Release of the detained aid worker by Iran", be="is"), [
        ("Iran frees detained aid worker after six years", "", C),
        ("Aid worker's release delayed over unpaid debt", "", D),
        ("Iran refuses to release aid worker", "", R),
        ("Iran could release aid worker within days, lawyer says", "", P),
    ]),
    "elect": (_claim_forms("Brazilians", "elect", "elect", "Lula as president",
                           "Election of Lula as president by Brazilians"), [
        ("Lula elected president of Brazil", "", C),
        ("Lula loses Brazil runoff to Bolsonaro", "", R),
        ("Lula poised to win Brazil presidency, polls show", "", P),
    ]),
    "resign": (_claim_forms("Fumio Kishida", "resign", "resigns", "as prime minister",
                            "Resignation of Fumio Kishida as prime minister", be="is"), [
        ("Kishida steps down as Japan's prime minister", "", C),
        ("Kishida says he will not resign over funding scandal", "", R),
        ("Kishida resignation expected after budget vote", "", P),
        ("Kishida announces his resignation", "", C),
        ("Kishida under pressure to quit", "", P),
    ]),
    "launch": (_claim_forms("Apple", "launch", "launches", "a foldable iPhone",
                            "Launch of a foldable iPhone by Apple", be="is"), [
        ("Apple unveils its first foldable iPhone", "", C),
        ("Foldable iPhone launch slips to 2027", "", D),
        ("Apple scraps foldable iPhone project", "", R),
        ("Apple may launch a foldable iPhone next year", "", P),
    ]),
}
FORM_CASES = [(event, form, claim, title, summary, expected)
              for event, (claims, stories) in CLAIM_FORMS.items() for form, claim in claims.items()
              for title, summary, expected in stories]


@pytest.mark.parametrize(("event", "form", "claim", "title", "summary", "expected"), FORM_CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[3][:30]}" for c in FORM_CASES])
def test_every_claim_form_reads_stories_alike(event, form, claim, title, summary, expected) -> None:
    """A claim written as a question, with "will", with "expected to" or as a noun phrase gives every story the
    verdict the plain statement gives it: "have not signed" about a question claim is not yet (pending), not a
    confirmation of the negative question."""
    assert judge(prepare_verdict(claim), title, summary).verdict == expected, (form, claim)




# ---------------------------------------------------------------- nominalised cues in headlines

TREATY = "The Senate will ratify the arms control treaty"
GAZA_DEAL = "Israel and Hamas agree to a ceasefire deal"
PENSION_VOTE = "Parliament will vote on the pension reform bill"
ARTEMIS = "NASA will launch the Artemis II mission"
AID_WORKER = "Iran will release the detained aid worker"

NOMINAL_CASES = [
    # the event named by a noun, and what the headline says became of it
    (IRAQ_CLAIM, "No signing yet for Iraq-US coalition withdrawal agreement", D),
    (IRAQ_CLAIM, "Iraq-US coalition withdrawal agreement signing pushed to next year", D),
    (IRAQ_CLAIM, "Signing ceremony held in Baghdad for Iraq-US coalition withdrawal agreement", C),
    (IRAQ_CLAIM, "Still no signing of Iraq-US withdrawal agreement", D),
    (IRAQ_CLAIM, "Iraq and US have not signed the withdrawal agreement yet", D),
    (IRAQ_CLAIM, "Iraq-US withdrawal agreement signing ceremony to be held next week", P),
    (IRAQ_CLAIM, "Iraq-US withdrawal signing ceremony was held on Sunday", C),
    (IRAQ_CLAIM, "Iraq-US withdrawal signing takes place in Baghdad", C),
    (IRAQ_CLAIM, "Iraq-US withdrawal agreement signing held up by last-minute dispute", D),
    (IRAQ_CLAIM, "Iraq pushes to sign withdrawal agreement with US", P),
    (IRAQ_CLAIM, "Iraq-US withdrawal agreement signing moved to March", D),
    (TREATY, "No ratification yet for arms control treaty", D),
    (TREATY, "Arms control treaty ratification delayed", D),
    (TREATY, "Senate ratification of arms treaty pushed into 2026", D),
    (GAZA_DEAL, "No ceasefire deal yet between Israel and Hamas", D),
    (GAZA_DEAL, "Still no deal on Gaza ceasefire", D),
    (PENSION_VOTE, "Pension reform vote pushed back to next week", D),
    (PENSION_VOTE, "Pension reform vote pushed to the autumn", D),
    (PENSION_VOTE, "Pension reform vote held in parliament", C),
    (PENSION_VOTE, "No vote yet on pension reform bill", D),
    (ARTEMIS, "Artemis II launch moved to April", D),
    (ARTEMIS, "Artemis II launch postponed", D),
    (ARTEMIS, "No launch yet for Artemis II", D),
    (ARTEMIS, "Artemis II launch went ahead on schedule", C),
    (AID_WORKER, "Aid worker's release pushed to a later date", D),
    (AID_WORKER, "No release yet for detained aid worker", D),
]


@pytest.mark.parametrize(("claim", "title", "expected"), NOMINAL_CASES, ids=[c[1][:50] for c in NOMINAL_CASES])
def test_nominalised_cues(claim: str, title: str, expected: Verdict) -> None:
    """An event noun with what became of it: "no X yet" is not yet (delayed), not a rejection; "X pushed to
    <a time>" is a delay ("pushes to sign" is not); "X ceremony held" / "X takes place" is the event done."""
    assert judge(prepare_verdict(claim), title, "").verdict == expected

"""Reading a story with its article page's text (``full_text = "hits"``). Pure: no I/O.

Which stories are worth their article page (``is_candidate``): a hit, or a near miss, a story whose lexical score
is below a claim's ``min_score`` by at most ``NEAR_MISS_MARGIN`` points with every gate passed.

What is read (``lead``): the first ``LEAD_PARAGRAPHS`` prose paragraphs of the page's main text, at most
``LEAD_MAX_CHARS`` characters. News is written with the facts first; the qualifier a headline leaves out ("but have
not signed the final agreement") is in the lead, while the rest of a page (background, earlier events, quotes of
other people) would mostly add noise to the relevance score and old events to the verdict.

How the verdict is read (``judge_with_article``): the story as usual over the title and the summary followed by
the lead (``verdict.judge``), and then one rule of its own: a confirmation is overruled by a lead sentence that
reads the claim's event, from a cue, as not having happened (pending from a negation such as "have not signed",
delayed, or rejected), unless another lead sentence confirms the event from a cue ("signed on Thursday ... it had
not been signed for months" stays confirmed). The headline and the feed summary are the short form of the
article: where the article says the event has not happened, a "sign" in the headline is that short form, not news
of the signing.
"""

from __future__ import annotations

from monitor.models import Story, Verdict
from monitor.reading import relevance as match
from monitor.reading.verdict import PreparedVerdict, VerdictResult, cue_readings, judge

NEAR_MISS_MARGIN = 15.0  # points of the 0–100 score below a claim's min_score that still fetch the page
LEAD_PARAGRAPHS = 3
LEAD_MAX_CHARS = 1500


_SENTENCE_END = tuple('.!?"\'”’)')


def lead(article: str) -> str:
    """The first LEAD_PARAGRAPHS paragraphs (lines) of ``article`` that end as a sentence ends, cut at
    LEAD_MAX_CHARS on a word. Lines that do not (the headline repeated, a dateline, a caption, "Read more") are
    not prose and would run into the next sentence."""
    paragraphs = [p.strip() for p in article.splitlines() if p.strip().endswith(_SENTENCE_END)][:LEAD_PARAGRAPHS]
    text = "\n".join(paragraphs)
    if len(text) > LEAD_MAX_CHARS:
        text = text[:LEAD_MAX_CHARS].rsplit(" ", 1)[0]
    return text


def with_lead(summary: str, article: str | None) -> str:
    """The summary followed by the article's lead (the summary alone without an article), as the stages read it.
    A lead that begins with the summary (many feeds carry the first paragraph) is not read twice."""
    if not article:
        return summary
    text = lead(article)
    if summary and text.startswith(summary.strip()):
        return text
    return f"{summary}\n{text}" if summary else text


def is_near_miss(assessment: match.Assessment) -> bool:
    """A story that missed a claim only on its score, by at most NEAR_MISS_MARGIN points."""
    return (assessment.failed == match.BELOW_MIN_SCORE
            and assessment.score >= assessment.min_score - NEAR_MISS_MARGIN)


def is_candidate(claim: match.PreparedClaim, title: str, summary: str) -> bool:
    """Whether a story is a hit or a near miss of ``claim`` on its feed entry alone."""
    assessment = match.assess(claim, title, summary)
    return assessment.failed is None or is_near_miss(assessment)


def judge_with_article(prepared: PreparedVerdict, title: str, summary: str, article: str) -> VerdictResult:
    """The verdict of a story read with its article's lead (see the module docstring)."""
    text = lead(article)
    said = judge(prepared, title, with_lead(summary, article))
    if said.verdict != Verdict.CONFIRMED:
        return said
    readings = cue_readings(prepared, text)
    if any(r.verdict == Verdict.CONFIRMED for r in readings):  # the article tells of the event itself
        return said
    return next((r for r in readings if r.verdict != Verdict.CONFIRMED), said)


def sentence_source(story: Story, sentence: str | None) -> str | None:
    """"article" when ``sentence`` was quoted from the story's article text (it is in neither its title nor its
    summary), else None (the feed entry)."""
    if not sentence or not story.article or sentence in story.title or sentence in story.summary:
        return None
    return "article" if sentence in story.article else None

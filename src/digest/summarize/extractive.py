"""The default summariser: the article's own sentences, chosen by the encoder, trimmed.

For each article:

1. its sentences (``digest.text.sentences.article_sentences``); boilerplate (bylines, credits,
   "Click here", "Related:", promotions, share prompts) is never a candidate;
2. salience = centrality (cosine to the article's centroid) + similarity to the title
   + a position prior (news puts the point first) + the article's structure (lede,
   timeline events) - penalties (quotes, questions, fragments, run-ons);
3. key points picked by MMR (``digest.mmr``: salience minus redundancy with points already
   picked), then put back in the article's order (which is also the timeline's order);
4. the conclusion: the article's ``Conclusion`` section when it has one, else the most
   central late sentence not already used;
5. each point trimmed (a leading connective, short parentheticals, then a clause cut to
   the word budget, counted in word-equivalents for CJK and Thai): words are only ever
   removed, never added; a quotation mark the sentence split left without its partner
   goes (``mend_quotes``);
6. a summary thinner than asked (fewer points than ``min_key_points``, or no conclusion)
   says why in ``Summary.note`` ("teaser only: the source gave 38 words").

The weights below were tuned on ``../shared/data/summaries_cnndm_dev.jsonl`` with
``bench/quality.py``; ``tests/test_summary_quality.py`` pins the ROUGE they reach.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from digest.config import SummarizerOptions
from digest.embed import Encoder, VectorCache, Vectors
from digest.errors import SummaryError
from digest.mmr import mmr_picks
from digest.models import Article, KeyPoint, Summary, count_words
from digest.text.rules import SENTENCE_END
from digest.text.sentences import SPLITTER_VERSION, Sentence, article_sentences

__all__ = [
    "EXTRACTIVE_VERSION",
    "ExtractiveSummarizer",
    "Salience",
    "mend_quotes",
    "point_count",
    "teaser_text",
    "thin_note",
    "trim_point",
    "unsummarisable",
]

log = logging.getLogger(__name__)

# Bump when a change to the selection changes summaries: it is part of the cache key.
EXTRACTIVE_VERSION = "extractive-4"


@dataclass(frozen=True, slots=True)
class Salience:
    """The weights of a sentence's score (see the module docstring)."""

    centrality: float = 1.0
    title: float = 0.3
    position: float = 1.0
    position_decay: float = 6.0  # prior = 1 / (1 + rank / decay), rank 0 = first sentence
    lede: float = 0.1  # in the first paragraph of a multi-paragraph article
    event: float = 0.35  # a timeline event
    quote: float = 0.25  # penalty: starts inside a quotation
    question: float = 0.2  # penalty: a question
    fragment: float = 0.4  # penalty: fewer than min_words words
    min_words: int = 7
    long_words: int = 35  # penalty per word above this (a run-on or missed split)
    long_penalty: float = 0.01
    redundancy: float = 0.5  # MMR: weight of the highest similarity to a chosen point


class ExtractiveSummarizer:
    """Key points and a conclusion drawn from the article's own sentences.

    ``encoder``: the caller's, made from its ``EncoderOptions`` (``digest.embed.get_encoder``).
    """

    backend = "extractive"

    def __init__(
        self,
        options: SummarizerOptions,
        encoder: Encoder,
        *,
        vectors: VectorCache | None = None,
        salience: Salience | None = None,
    ) -> None:
        self.options = options
        self.encoder = encoder
        self.vectors = vectors
        self.salience = salience or Salience()
        self.model = self.encoder.name

    @property
    def cache_version(self) -> str:
        o = self.options
        return (
            f"{EXTRACTIVE_VERSION}:{o.min_key_points}-{o.max_key_points}x{o.words_per_point}"
            f":p{SPLITTER_VERSION}"
        )

    def summarize(self, article: Article) -> Summary:
        return self.summarize_many([article])[0]

    def summarize_many(self, articles: Sequence[Article]) -> list[Summary]:
        """Summaries in order; the encoder sees every article's sentences in one call."""
        plans = [_Plan.of(article) for article in articles]
        texts = [t for plan in plans for t in plan.texts]
        vectors = self.encoder.encode(texts, cache=self.vectors) if texts else None
        out: list[Summary] = []
        start = 0
        for plan in plans:
            count = len(plan.texts)
            block = vectors[start : start + count] if vectors is not None else None
            start += count
            out.append(self._summarize(plan, block))
        return out

    def _summarize(self, plan: _Plan, vectors: Vectors | None) -> Summary:
        article = plan.article
        if not plan.candidates:
            teaser = teaser_text(plan.sentences, self.options.words_per_point * 2)
            if teaser:
                return Summary(
                    key_points=(),
                    conclusion=None,
                    method=self.backend,
                    model=self.model,
                    prompt_version=EXTRACTIVE_VERSION,
                    note=f"teaser only: the source gave {article.word_count} words, cut short",
                    teaser=teaser,
                )
        if not plan.candidates or vectors is None:
            raise SummaryError(f"{article.id}: {unsummarisable(article, plan.sentences)}")
        sentence_vectors = vectors[: len(plan.candidates)]
        title_vector = vectors[len(plan.candidates)] if plan.title_text else None
        scores = salience_scores(
            plan.sentences, plan.candidates, sentence_vectors, title_vector, self.salience
        )
        wanted = point_count(article, self.options)
        reserved = {i for i, c in enumerate(plan.candidates) if plan.sentences[c].is_conclusion}
        pool = [i for i in range(len(plan.candidates)) if i not in reserved]
        if not pool:  # the whole article is its conclusion section
            pool, reserved = list(range(len(plan.candidates))), set()
        chosen = mmr_picks(scores, sentence_vectors, wanted, self.salience.redundancy, pool)
        budget = self.options.words_per_point
        points = tuple(
            KeyPoint(
                trim_point(plan.sentences[plan.candidates[i]].text, budget), (plan.candidates[i],)
            )
            for i in sorted(chosen)
        )
        closing = self._conclusion(plan, sentence_vectors, set(chosen), reserved)
        conclusion = (
            None
            if closing is None
            else KeyPoint(
                trim_point(plan.sentences[plan.candidates[closing]].text, budget),
                (plan.candidates[closing],),
            )
        )
        return Summary(
            key_points=points,
            conclusion=conclusion,
            method=self.backend,
            model=self.model,
            prompt_version=EXTRACTIVE_VERSION,
            note=thin_note(article, len(points), conclusion is not None, self.options),
        )

    def _conclusion(
        self, plan: _Plan, vectors: Vectors, used: set[int], reserved: set[int]
    ) -> int | None:
        """The article's own conclusion, else its most central late sentence not used."""
        centroid = _unit(vectors.mean(axis=0))
        central = vectors @ centroid
        if reserved:
            # The conclusion section's most central sentence, the first one winning ties.
            ordered = sorted(reserved)
            return max(ordered, key=lambda i: central[i] - 0.02 * ordered.index(i))
        count = len(plan.candidates)
        late = [i for i in range(count) if i not in used and i >= count * 2 // 3]
        if not late:
            late = [i for i in range(count) if i not in used]
        if not late:
            return None
        # A closing line reads best as the article's own statement, not a fragment or a quote.
        substantial = [
            i
            for i in late
            if plan.sentences[plan.candidates[i]].words >= 8
            and plan.sentences[plan.candidates[i]].text[:1] not in "\"'“‘"
        ] or late
        return max(substantial, key=lambda i: float(central[i]))


@dataclass(frozen=True, slots=True)
class _Plan:
    """An article's sentences, which of them may be chosen, and the texts to encode."""

    article: Article
    sentences: list[Sentence]
    candidates: list[int]  # indices into sentences
    title_text: str | None  # the title, when it says more than the first sentence

    @classmethod
    def of(cls, article: Article) -> _Plan:
        sentences = article_sentences(article)
        candidates = [s.index for s in sentences if _candidate(s)]
        title = article.title.strip()
        first = sentences[candidates[0]].text if candidates else ""
        title_text = title if title and not first.startswith(title) else None
        return cls(article, sentences, candidates, title_text)

    @property
    def texts(self) -> list[str]:
        texts = [self.sentences[i].text for i in self.candidates]
        return [*texts, self.title_text] if self.title_text and texts else texts


# An article under this many words (word-equivalents) is a teaser: what a feed gives of a
# story whose text is on its page (the readers' ``fetch_full_text`` threshold).
TEASER_WORDS = 150


def unsummarisable(article: Article, sentences: Sequence[Sentence] | None = None) -> str:
    """Why an article gives no key point, in one line ("headline only, no text")."""
    words = article.word_count
    if words == 0:
        return "headline only, no text to summarise"
    found = article_sentences(article) if sentences is None else sentences
    kept = [s for s in found if not s.is_boilerplate]
    if not kept:
        return f"no sentence to summarise: all {len(found)} are bylines, credits or prompts"
    return (
        f"no sentence to summarise: {words} words in {len(kept)} lines, none a sentence of"
        " 3 words or more"
    )


def teaser_text(sentences: Sequence[Sentence], budget: int) -> str | None:
    """The source's own opening when it has no whole sentence: its sentences that are not
    boilerplate, up to ``budget`` words, ending on "…" (words are only removed)."""
    kept = [s.text for s in sentences if not s.is_boilerplate and not s.is_event]
    if not kept:
        return None
    text = "".join(kept) if _UNSPACED_SCRIPT.search(kept[0]) else " ".join(kept)
    if count_words(text) > budget:
        text = trim_point(text, budget)
    text = _CUT_TAIL.sub("", text).rstrip(" ,;:–—")
    return f"{text}…" if text else None


# What a source put where it cut: "...", "…", "[…]", "(…)", "[+]".
_CUT_TAIL = re.compile(r"\s*(?:\.{3}|…|\[(?:…|\.{3}|\+)\]|\((?:…|\.{3})\))\s*$")


def thin_note(
    article: Article, points: int, has_conclusion: bool, options: SummarizerOptions
) -> str | None:
    """Why a summary has fewer points than ``min_key_points`` or no conclusion, else None."""
    if points >= options.min_key_points and has_conclusion:
        return None
    words = article.word_count
    if words < TEASER_WORDS:
        return f"teaser only: the source gave {words} words"
    return f"short article: {points} key point(s) from {words} words"


# A line wholly in brackets with no full stop inside is a list of tags or a caption
# ("(Red Dead Redemption 2, Red Dead Redemption)"), not a point; an aside that is a sentence
# ("(JetBlue flies to 10 of them.)") stays a candidate.
_BRACKETED_LIST = re.compile(r"^\([^()]*[^.!?…。！？()]\)$")


def _candidate(sentence: Sentence) -> bool:
    if sentence.is_boilerplate or sentence.is_fragment:
        return False  # a fragment is never a point nor the conclusion
    if _BRACKETED_LIST.match(sentence.text.strip()):
        return False
    words = sentence.words
    # A heading-like line (short, no closing punctuation) is not a point.
    return words >= 3 and not (words <= 8 and SENTENCE_END.search(sentence.text) is None)


def salience_scores(
    sentences: Sequence[Sentence],
    candidates: Sequence[int],
    vectors: Vectors,
    title_vector: Vectors | None,
    w: Salience,
) -> Vectors:
    centroid = _unit(vectors.mean(axis=0))
    score = w.centrality * (vectors @ centroid)
    if title_vector is not None:
        score = score + w.title * (vectors @ title_vector)
    paragraphs = {sentences[c].paragraph for c in candidates if sentences[c].paragraph >= 0}
    multi = len(paragraphs) > 1
    for rank, c in enumerate(candidates):
        s = sentences[c]
        bonus = w.position / (1.0 + rank / w.position_decay)
        if s.is_lede and multi:
            bonus += w.lede
        if s.is_event:
            bonus += w.event
        text = s.text
        if text[:1] in "\"'“‘":
            bonus -= w.quote
        if text.rstrip("\"'”’").endswith("?"):
            bonus -= w.question
        if s.words < w.min_words:
            bonus -= w.fragment
        if s.words > w.long_words:
            bonus -= w.long_penalty * (s.words - w.long_words)
        score[rank] += bonus
    return score


def point_count(article: Article, options: SummarizerOptions) -> int:
    """One point per ~150 words, within ``[min_key_points, max_key_points]``."""
    return max(options.min_key_points, min(options.max_key_points, round(article.word_count / 150)))


_CONNECTIVE = re.compile(
    r"^(?:but|and|however|meanwhile|also|still|yet|so|moreover|furthermore|additionally"
    r"|in addition|indeed|instead|nevertheless|nonetheless|overall|separately|similarly"
    r"|likewise|plus|besides|thus|therefore|hence|consequently|as a result|in fact"
    r"|of course|after all|in the end|at the same time)\b,?\s+(?=\S)",
    re.IGNORECASE,
)
_PARENTHETICAL = re.compile(r"\s*\((?:[^()]){1,60}\)(?=[\s,.;:!?'\"”’]|$)")
_CLAUSE = re.compile(r"[,;:–—]\s")


def trim_point(text: str, budget: int) -> str:
    """Drop a leading connective and short parentheticals, mend a quotation the split left
    open or closed (``mend_quotes``), then cut to ``budget`` words at a clause boundary when
    one is near (else at the budget, marked with "…"). Only removes words; never adds one."""
    trimmed = _CONNECTIVE.sub("", text, count=1)
    if trimmed != text:
        trimmed = trimmed[:1].upper() + trimmed[1:]
    trimmed = _PARENTHETICAL.sub("", trimmed).strip() or text
    trimmed = mend_quotes(trimmed)
    if _UNSPACED_SCRIPT.search(trimmed):
        return _trim_unspaced(trimmed, budget)
    words = trimmed.split()
    if len(words) <= budget:
        return trimmed
    head = " ".join(words[:budget])
    cut = [m.start() for m in _CLAUSE.finditer(head)]
    if cut and cut[-1] >= len(head) * 0.6:
        head = head[: cut[-1]]
    return head.rstrip(" ,;:–—") + "…"


# Scripts whose words are not set off by spaces: trimmed by characters, not by words.
_UNSPACED_SCRIPT = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0eff]")
_UNSPACED_CLAUSE = re.compile("[，、；：,;:]")


def _trim_unspaced(text: str, budget: int) -> str:
    if count_words(text) <= budget:
        return text
    # Cut where the first ``budget`` word-equivalents end, at a clause mark when one is near.
    end = len(text)
    for end in range(1, len(text) + 1):
        if count_words(text[:end]) > budget:
            end -= 1
            break
    head = text[:end]
    cut = [m.start() for m in _UNSPACED_CLAUSE.finditer(head)]
    if cut and cut[-1] >= len(head) * 0.6:
        head = head[: cut[-1]]
    return head.rstrip(" ，、；：,;:") + "…"


def mend_quotes(text: str) -> str:
    """A point without a dangling quotation mark: a quotation the sentence split cut in two
    leaves a mark without its partner ('...eager to get back," he said.', '"We will win.');
    that mark goes ('...eager to get back, he said.'), and nothing else changes. Straight
    marks pair from the left, so an odd one out is the last; a curly closing mark with no
    opening before it, or an opening one never closed, is unmatched (German „…“ and French
    «…» pair as those languages write them). Only marks are removed,
    never a word (ROUGE, which ignores punctuation, is unchanged)."""
    drop: set[int] = set()
    straight = [i for i, ch in enumerate(text) if ch == '"']
    if len(straight) % 2 == 1:
        drop.add(straight[-1])
    # German opens with „ and closes with “; English opens with “; French uses « ».
    pairs = [("„", "“”"), ("«", "»")] if "„" in text else [("“", "”"), ("«", "»")]
    for opening, closing in pairs:
        opened: list[int] = []
        for i, ch in enumerate(text):
            if ch == opening:
                opened.append(i)
            elif ch in closing:
                if opened:
                    opened.pop()
                else:
                    drop.add(i)
        drop.update(opened)
    if not drop:
        return text
    kept = "".join(ch for i, ch in enumerate(text) if i not in drop)
    return " ".join(kept.split())


def _unit(vector: Vectors) -> Vectors:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector

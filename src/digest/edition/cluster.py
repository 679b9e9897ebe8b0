"""Same-event clustering: articles from several outlets about one event become one story.

Two articles are linked when their link score reaches ``edition.cluster_threshold`` and
they were published within ``cluster_window_hours`` of each other. The link score is

    max(cosine(openings), cosine(headlines)) + LEX_WEIGHT * shared_words   (both English)
    LEX_ALONE * shared_words                                                  (otherwise)

minus ``FIGURES_CONFLICT`` when both give figures and share none, where
``shared_words`` is the TF-IDF cosine of the two title + lede texts over the pile
being clustered: shared names, figures and rare words count, words every article has do
not. The encoder catches paraphrased headlines that share few words ("Forty-Two Nations
Sign Geneva Accord" / "Landmark Water Treaty Binds Upstream and Downstream States"); the
shared words add the names and figures. An English article with a dek or a genre label
has two vectors: its 600-character opening, and its headline (genre labels such as "News
Analysis:" or "– video" dropped) with the lede (``vectors.has_headline_vector``). The
second one matters for short teasers whose dek is a photo caption ("President-elect
Donald J. Trump left One World Trade Center ..."): the caption pulls the opening towards
every other story that names the same person, while the headline and lede state the
event. Taking the better of the two raised recall on the labelled English pairs of
bench/clustering.py from 7/10 to 9/10 with no new wrong merge.

The bundled encoder reads English only: on Urdu or German it scores headlines of
different events alike (0.9 and more), so for those the link rests on shared words
alone, which asks for much more overlap (precision first: a wrong merge loses a story, a
missed one shows an event twice), unless ``edition.multilingual`` names an encoder that
reads them (``digest.edition.multilingual``): then such a pair is linked by its cosine,
rescaled, and shared words. Neither a lower bar on shared words, nor character
3-5-gram TF-IDF, nor a penalty per day apart separates the labelled German and Urdu pairs
from the different-event ones (one game's review and its livestream share more words than
two reports of the US leaving the TPP): what would is an encoder that reads them.

Clusters grow greedily from the strongest link, and two clusters merge only when their
average link is still near the threshold, so one loose pair cannot chain two events.
The best-written member (substance, then score) leads the cluster.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from scipy import sparse

from digest.config import EditionOptions
from digest.edition.rank import RankedArticle
from digest.edition.vectors import ENGLISH_FUNCTION_WORDS as _ENGLISH
from digest.edition.vectors import ArticleVectors, english, opening_text
from digest.embed import Vectors
from digest.models import AlsoReported, Article

__all__ = [
    "FIGURES_CONFLICT",
    "LEX_ALONE",
    "LEX_WEIGHT",
    "TEXT_SCALE",
    "Cluster",
    "TextIndex",
    "cluster_articles",
    "language_of",
    "link_scores",
    "shared_words",
    "text_similarity",
    "text_similarity_to",
]

LEX_WEIGHT = 0.3
LEX_ALONE = 1.4
# Subtracted when both texts give figures and share none (a 6.8 and a 6.1 earthquake).
FIGURES_CONFLICT = 0.1
# The multilingual encoder's cosines sit high (0.8 for two unrelated texts): a pair not in
# English on both sides scores MULTILINGUAL_SCALE x (cosine - zero) plus MULTILINGUAL_LEX x
# shared words, on the scale of the English link; zero is MULTILINGUAL_ZERO for two texts
# of one language and MULTILINGUAL_ZERO_ACROSS for two languages, whose cosines run lower
# (same-event pairs: median 0.87 across languages, 0.91 within one). Chosen on
# pairs_dev.jsonl (bench/clustering.py --pairs).
MULTILINGUAL_ZERO = 0.81
MULTILINGUAL_ZERO_ACROSS = 0.765
MULTILINGUAL_SCALE = 6.0
MULTILINGUAL_LEX = 0.3
# A merge of two clusters needs an average link of at least threshold - MERGE_SLACK.
MERGE_SLACK = 0.1
_OUTSIDE = -1.0
_TOKEN = re.compile(r"\w+", re.UNICODE)
# A word with its combining marks (Urdu zer, Hindi matras, German umlauts decomposed).
_WORD = re.compile(
    r"(?:\w[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u0900-\u0903\u093a-\u094f\u0962\u0963\u0981-\u0983\u09bc-\u09d7]*)+"
)
_FIGURE = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class Cluster:
    """One event: the leading article and the others that reported it.

    ``update_of`` is set on an event an earlier edition sent, back with new facts
    (``digest.edition.repeats``): that edition's id, and ``whats_new``, the lead's
    sentences that carry them."""

    lead: RankedArticle
    others: tuple[RankedArticle, ...] = ()
    update_of: str | None = None
    whats_new: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        """The event's score: its best member's."""
        return max([self.lead.score, *(o.score for o in self.others)])

    @property
    def members(self) -> tuple[RankedArticle, ...]:
        return (self.lead, *self.others)

    def also_reported(self) -> tuple[AlsoReported, ...]:
        """The other outlets that reported the event: each once (its best article), never
        the lead's own outlet."""
        seen = {_outlet(self.lead.article.source)}
        found: list[AlsoReported] = []
        for o in self.others:
            outlet = _outlet(o.article.source)
            if outlet in seen:
                continue
            seen.add(outlet)
            found.append(
                AlsoReported(
                    source=o.article.source,
                    title=o.article.title,
                    url=o.article.link,
                    article_id=o.article.id,
                )
            )
        return tuple(found)


def _outlet(source: str) -> str:
    """An outlet's name compared without case, spacing or punctuation."""
    return "".join(ch for ch in source.casefold() if ch.isalnum())


def _hours(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.timestamp() / 3600.0


def _event_words(article: Article) -> list[str]:
    paragraphs = article.paragraphs
    text = " ".join((article.title, article.dek or "", paragraphs[0] if paragraphs else ""))
    words = []
    for token in _TOKEN.findall(text.casefold()):
        token = token.removesuffix("s") if len(token) > 4 and token.isalpha() else token
        if (len(token) > 1 or token.isdigit()) and token not in _ENGLISH:
            words.append(token)
    return words


def _disjoint(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both give figures and share none."""
    return bool(a) and bool(b) and not a & b


def language_of(article: Article) -> str:
    """The article's language code (``pt`` of ``pt-BR``); "en" for text the English test
    passes; "" when unknown (a pair with an unknown side counts as one language: the
    stricter bar)."""
    if article.language:
        return article.language.strip().lower().replace("_", "-").split("-")[0]
    return "en" if english(article) else ""


def _figures(article: Article, *, title_only: bool = False) -> frozenset[str]:
    """The numbers of the title, dek and lede (magnitudes, tolls, sums), commas dropped."""
    paragraphs = article.paragraphs
    lede = "" if title_only else " ".join((article.dek or "", paragraphs[0] if paragraphs else ""))
    text = f"{article.title} {lede}"
    return frozenset(n.replace(",", "") for n in _FIGURE.findall(text))


def _tfidf_rows(bags: Sequence[Counter[str]], *, floor: float = 1.0) -> sparse.csr_matrix:
    """Unit rows of TF-IDF weights (smoothed IDF over ``bags`` plus ``floor``, sublinear
    term frequency), one per bag of words, as a sparse matrix. With ``floor`` 0 a word
    of every bag weighs nothing."""
    n = len(bags)
    vocabulary: dict[str, int] = {}
    rows, cols, counts = [], [], []
    for i, bag in enumerate(bags):
        for word, count in bag.items():
            rows.append(i)
            cols.append(vocabulary.setdefault(word, len(vocabulary)))
            counts.append(1.0 + math.log(count))
    matrix = sparse.csr_matrix(
        (np.array(counts, np.float32), (rows, cols)), shape=(n, max(1, len(vocabulary)))
    )
    df = np.bincount(np.array(cols, dtype=np.int64), minlength=matrix.shape[1])
    idf = (np.log((1.0 + n) / (1.0 + df)) + floor).astype(np.float32)
    matrix = matrix.multiply(idf[None, :]).tocsr()
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix)


def shared_words(articles: Sequence[Article]) -> Vectors:
    """Pairwise TF-IDF cosine of the articles' title + lede words (smoothed IDF over
    ``articles``, sublinear term frequency), as a dense matrix."""
    matrix = _tfidf_rows([Counter(_event_words(a)) for a in articles])
    return np.asarray((matrix @ matrix.T).toarray(), dtype=np.float32)


# Scripts written without spaces between words: a run of them is read as overlapping
# character pairs (two characters: most Chinese and Japanese words), not as one "word".
_UNSPACED = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
    "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff]+"
)
# Characters of an article's opening the language-neutral measure reads.
TEXT_LIMIT = 600


# Long words also count by their character 5-grams: German compounds share their parts
# ("Bahnstreik" / "Streik", "Lokführergewerkschaft" / "Lokführer"). On the German articles
# of tests/test_diversity_languages.py this raised the weakest same-event pair from 0.05
# to 0.16 and lowered the closest different-event one from 0.04 to 0.01.
_GRAM = 5
_GRAM_WORD = 7


def _word_tokens(word: str) -> list[str]:
    """A spaced word (one-letter words and English function words dropped; a plural "s"
    off, as ``_event_words`` does), and the character 5-grams of a long one."""
    if len(word) < 2 or word in _ENGLISH:
        return []
    tokens = [word.removesuffix("s") if len(word) > 4 else word]
    if len(word) >= _GRAM_WORD and word.isalpha():
        tokens.extend("#" + word[k : k + _GRAM] for k in range(len(word) - _GRAM + 1))
    return tokens


def _text_tokens(article: Article) -> list[str]:
    """The words of the article's opening (``vectors.opening_text``) in any script:
    spaced scripts by word (case folded, marks kept inside the word) and by the
    character 5-grams of long words, unspaced ones (CJK, Thai...) by character pair."""
    text = unicodedata.normalize("NFC", opening_text(article, TEXT_LIMIT)).casefold()
    tokens: list[str] = []
    for run in _WORD.findall(text):
        start = 0
        for match in _UNSPACED.finditer(run):
            tokens.extend(_word_tokens(run[start : match.start()]))
            chars = match.group()
            tokens.extend(chars[k : k + 2] for k in range(max(1, len(chars) - 1)))
            start = match.end()
        tokens.extend(_word_tokens(run[start:]))
    return tokens


# Shared-words cosines run lower than the encoder's: two reports of one event written
# apart share 0.1-0.4 of their TF-IDF weight, unrelated ones under 0.05 (real Urdu and
# German feeds, tests/test_diversity_languages.py); this factor (capped at 1) puts them
# on the encoder's scale (same event 0.5-1, unrelated 0-0.25) for MMR and related stories.
TEXT_SCALE = 5.0


def text_similarity_to(article: Article, others: Sequence[Article]) -> Vectors:
    """``text_similarity`` of ``article`` to each of ``others`` (IDF over all of them):
    one row, without the whole pile's matrix."""
    matrix = _tfidf_rows([Counter(_text_tokens(a)) for a in (article, *others)], floor=0.0)
    row = matrix[1:] @ matrix[0].T
    return np.asarray(row.toarray(), dtype=np.float32).ravel()


def text_similarity(articles: Sequence[Article]) -> Vectors:
    """Pairwise TF-IDF cosine of the articles' openings, in any language: the bundled
    encoder reads English only, and scores any two Urdu or German texts alike; shared
    words (character 5-grams of long words, character pairs of CJK text) tell one event
    from another in any script.
    The IDF is the pile's own (``articles``), without a floor: no list of function
    words in every language, but a word nearly every article has counts next to nothing."""
    matrix = _tfidf_rows([Counter(_text_tokens(a)) for a in articles], floor=0.0)
    return np.asarray((matrix @ matrix.T).toarray(), dtype=np.float32)


class TextIndex:
    """``text_similarity`` with the IDF of a fixed collection (a pool of stored articles):
    any two articles compared on the collection's rarity of their words, whatever else
    is compared with them. Each article's words are read once."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self._tokens: dict[str, Counter[str]] = {}
        self._rows: dict[str, dict[str, float]] = {}  # after the IDF is whole
        self.df: Counter[str] = Counter()
        for article in articles:
            self.df.update(set(self.tokens(article)))
        self.n = len(articles)

    def tokens(self, article: Article) -> Counter[str]:
        found = self._tokens.get(article.id) if article.id else None
        if found is None:
            found = Counter(_text_tokens(article))
            if article.id:
                self._tokens[article.id] = found
        return found

    def _row(self, article: Article) -> dict[str, float]:
        found = self._rows.get(article.id) if article.id else None
        if found is not None:
            return found
        row = {
            word: (1.0 + math.log(count)) * math.log((1.0 + self.n) / (1.0 + self.df[word]))
            for word, count in self.tokens(article).items()
        }
        norm = math.sqrt(sum(v * v for v in row.values()))
        unit = {w: v / norm for w, v in row.items()} if norm else {}
        if article.id:
            self._rows[article.id] = unit
        return unit

    def similarity(self, a: Article, b: Article) -> float:
        """TF-IDF cosine of the two openings' words (any script), this collection's IDF."""
        first, second = self._row(a), self._row(b)
        if len(second) < len(first):
            first, second = second, first
        return sum(v * second.get(w, 0.0) for w, v in first.items())


def link_scores(
    articles: Sequence[Article],
    event: Vectors,
    options: EditionOptions,
    headlines: Vectors | None = None,
    multilingual: Vectors | None = None,
) -> Vectors:
    """The pairwise link score; -1 outside the time window and on the diagonal.

    ``event`` holds the opening vectors and ``headlines`` the headline + lede vectors
    (row for row); without ``headlines`` the openings alone count. ``multilingual`` holds
    the multilingual encoder's vectors (``edition.multilingual``): with them, a pair not
    in English on both sides is linked by their cosine (``MULTILINGUAL_ZERO``,
    ``MULTILINGUAL_SCALE``) and shared words, else by shared words alone."""
    n = len(articles)
    if not n:
        return np.zeros((0, 0), np.float32)
    readable = np.array([english(a) for a in articles], dtype=bool)
    both = readable[:, None] & readable[None, :]
    words = shared_words(articles)
    cosine = event @ event.T
    if headlines is not None:
        cosine = np.maximum(cosine, headlines @ headlines.T)
    apart = np.zeros((n, n), dtype=bool)
    if multilingual is not None:
        languages = [language_of(a) for a in articles]
        known = np.array([bool(x) for x in languages], dtype=bool)
        codes = np.array(languages, dtype=object)
        apart = known[:, None] & known[None, :] & (codes[:, None] != codes[None, :])
        zero = np.where(apart, MULTILINGUAL_ZERO_ACROSS, MULTILINGUAL_ZERO)
        similar = multilingual @ multilingual.T
        others = MULTILINGUAL_SCALE * (similar - zero) + MULTILINGUAL_LEX * words
    else:
        others = LEX_ALONE * words
    scores = np.where(both, cosine + LEX_WEIGHT * words, others)
    scores = scores.astype(np.float32)
    figures = [_figures(a) for a in articles]
    titles = [_figures(a, title_only=True) for a in articles]
    for i, j in np.argwhere(np.triu(scores >= options.cluster_threshold, k=1)):
        if multilingual is None or both[i, j]:
            conflict = _disjoint(figures[i], figures[j])
        else:
            # Two languages write figures apart (1.5 / 1,5; dates); within one language
            # other than English the titles' figures only (whole ledes cost same-event
            # pairs of pairs_dev.jsonl).
            conflict = not apart[i, j] and _disjoint(titles[i], titles[j])
        if conflict:
            scores[i, j] -= FIGURES_CONFLICT
            scores[j, i] -= FIGURES_CONFLICT
    np.fill_diagonal(scores, _OUTSIDE)
    hours = np.array([_hours(a.published) or np.nan for a in articles], dtype=np.float64)
    apart = np.abs(hours[:, None] - hours[None, :])
    scores[np.nan_to_num(apart, nan=0.0) > options.cluster_window_hours] = _OUTSIDE
    return scores


def cluster_articles(
    ranked: Sequence[RankedArticle], vectors: ArticleVectors, options: EditionOptions
) -> list[Cluster]:
    """Group ranked articles into same-event clusters, best cluster first."""
    articles = [r.article for r in ranked]
    scores = link_scores(
        articles,
        vectors.matrix(articles),
        options,
        vectors.headline_matrix(articles),
        vectors.multilingual_matrix(articles),
    )
    threshold = options.cluster_threshold
    parent = list(range(len(articles)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(articles))}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = np.argwhere(np.triu(scores >= threshold, k=1))
    order = sorted(((float(scores[i, j]), int(i), int(j)) for i, j in pairs), reverse=True)
    for _, i, j in order:
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        a, b = members[ri], members[rj]
        if float(scores[np.ix_(a, b)].mean()) < threshold - MERGE_SLACK:
            continue
        parent[rj] = ri
        members[ri] = a + b
        del members[rj]
    clusters = []
    for group in members.values():
        people = [ranked[k] for k in group]
        lead = max(people, key=lambda r: (r.terms.substance, r.score, r.article.id))
        others = sorted(
            (r for r in people if r is not lead), key=lambda r: (-r.score, r.article.id)
        )
        clusters.append(Cluster(lead=lead, others=tuple(others)))
    clusters.sort(key=lambda c: (-c.score, c.lead.article.id))
    return clusters

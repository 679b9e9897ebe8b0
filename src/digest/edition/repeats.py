"""Never the same story twice: what a sent edition carried is not a story again.

An article that an earlier edition sent to subscribers (as a story, under "also reported
by" or as a More news headline) is never a story or a headline again. Candidates are
clustered with those sent articles, so a cluster tells which events were sent:

- an event all of whose candidates were sent is left out, each article with
  ``already sent in edition <date>``;
- an event that was sent and has gained articles returns only when one of them brings new
  facts (``NEW_FACTS`` names or figures that none of the sent articles of the event
  gives, in sentences it can show): as an update (``Cluster.update_of``), led by the best
  new article, with the sentences that carry the new facts (``Cluster.whats_new``); new
  articles with nothing new are left out as already sent;
- an event never sent is untouched.

Which editions count as sent is the ledger's word (``EditionStore.sent_articles``): one
saved for a preview or a dry run, never delivered, does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from digest.edition.cluster import Cluster
from digest.edition.rank import RankedArticle, facts
from digest.models import Article, LeftOut, LeftOutReason
from digest.text.sentences import article_sentences

__all__ = ["NEW_FACTS", "WHATS_NEW_MAX", "SetAside", "set_aside_sent"]

# How many names and figures an article must add to a sent event to be news again: one
# more name is what any other outlet's copy brings (its own spokesperson, its reporter).
NEW_FACTS = 3
# The most sentences a story's "what is new" shows, and the longest one (characters).
WHATS_NEW_MAX = 3
_SENTENCE_MAX = 400


def _article_facts(article: Article) -> frozenset[str]:
    return facts(f"{article.title}\n{article.dek or ''}\n{article.text}")


def _whats_new(article: Article, new: frozenset[str]) -> tuple[str, ...]:
    """The article's first sentences that give one of the ``new`` facts; the headline when
    only it does (a teaser)."""
    found: list[str] = []
    for sentence in article_sentences(article):
        if sentence.is_boilerplate or not facts(sentence.text) & new:
            continue
        text = sentence.text.strip()
        found.append(text if len(text) <= _SENTENCE_MAX else text[: _SENTENCE_MAX - 1] + "…")
        if len(found) >= WHATS_NEW_MAX:
            break
    if not found and facts(article.title) & new:
        found.append(article.title.strip()[:_SENTENCE_MAX])
    return tuple(found)


@dataclass(frozen=True)
class SetAside:
    """What ``set_aside_sent`` gives back: the clusters that may be stories, and the
    articles left out as already sent."""

    clusters: tuple[Cluster, ...]
    left_out: tuple[LeftOut, ...] = ()


def set_aside_sent(clusters: Sequence[Cluster], sent: Mapping[str, str]) -> SetAside:
    """The clusters that may be stories (updates marked), in the same order, and the
    articles set aside as already sent. ``sent`` maps article id -> the edition that sent it.
    """
    if not sent:
        return SetAside(tuple(clusters))
    kept: list[Cluster] = []
    left: list[LeftOut] = []
    for cluster in clusters:
        old = [m for m in cluster.members if m.article.id in sent]
        if not old:
            kept.append(cluster)
            continue
        latest = max(sent[m.article.id] for m in old)
        left.extend(
            LeftOut.because(m.article, LeftOutReason("already_sent", edition_id=sent[m.article.id]))
            for m in old
        )
        known = frozenset().union(*(_article_facts(m.article) for m in old))
        news: list[tuple[RankedArticle, tuple[str, ...]]] = []
        for member in cluster.members:
            if member.article.id in sent:
                continue
            new = _article_facts(member.article) - known
            shown = _whats_new(member.article, new) if len(new) >= NEW_FACTS else ()
            if shown and member.article.word_count > 0:
                news.append((member, shown))
            else:
                reason = LeftOutReason("already_sent", edition_id=latest)
                left.append(LeftOut.because(member.article, reason))
        if not news:
            continue
        lead, shown = max(news, key=lambda n: (n[0].terms.substance, n[0].score, n[0].article.id))
        others = tuple(m for m, _ in news if m is not lead)
        kept.append(Cluster(lead, others, update_of=latest, whats_new=shown))
    kept.sort(key=lambda c: (-c.score, c.lead.article.id))  # an update scores its new members
    return SetAside(tuple(kept), tuple(left))

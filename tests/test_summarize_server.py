"""summarizer.backend: openai against a real OpenAI-compatible server started here:
``transformers serve`` on a tiny random-weight Llama, behind a loopback proxy that injects
what real servers do (429, slowness) and swaps the random model's text for a chosen answer
where a test needs one. The support check, the fallback and the bounds are the product's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from digest.config import SummarizerOptions, load_config
from digest.embed import get_encoder
from digest.errors import ConfigError
from digest.models import Article, Section
from digest.summarize import make_summarizer
from digest.summarize.server import ServerSummarizer
from digest.summarize.support import SupportCheck, parse_answer
from digest.text.sentences import article_sentences
from tests.app_server import serving
from tests.model_server import (
    Faults,
    build_tiny_llama,
    proxy_app,
    serving_unavailable,
    transformers_serve,
)
from tools.smtp_sink import free_port

pytestmark = pytest.mark.slow

BRIDGE = Article(
    id="s1",
    source="test",
    title="Council approves river bridge",
    content_hash="s1hash",
    language="en",
    sections=(
        Section(
            None,
            (
                "The city council of Norwich approved a new bridge over the river on Monday."
                " The bridge will cost 40 million pounds and open in 2028.",
                "Mayor Alice Brown said the crossing would cut traffic in the old town."
                " Residents had asked for a second crossing for a decade.",
                "Opponents said the money should fund schools instead.",
            ),
        ),
    ),
)

GOOD = {
    "key_points": [
        "The Norwich city council approved a new bridge over the river on Monday.",
        "The bridge will cost 40 million pounds and open in 2028.",
        "Mayor Alice Brown said the crossing would cut traffic in the old town.",
    ],
    "conclusion": "Opponents said the money should fund schools instead.",
}

KEY = "sk-test-7f3a9c1e-do-not-log"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    why = serving_unavailable()
    if why:
        pytest.skip(why)
    root = tmp_path_factory.mktemp("served")
    model = build_tiny_llama(root / "tiny-llama")
    with transformers_serve(model, root / "serve.log") as url:
        yield url, model


@pytest.fixture(scope="module")
def proxied(upstream: tuple[str, Path]) -> Iterator[tuple[str, Faults]]:
    faults = Faults(upstream[0], model=str(upstream[1]))
    with serving(proxy_app(faults)) as client:
        yield str(client.base_url).rstrip("/") + "/v1", faults


@pytest.fixture
def server(proxied: tuple[str, Faults]) -> Iterator[tuple[str, Faults]]:
    import time

    deadline = time.monotonic() + 15
    while proxied[1].in_flight and time.monotonic() < deadline:
        time.sleep(0.05)  # an earlier test's abandoned (timed-out) request still running
    proxied[1].reset()
    yield proxied
    proxied[1].reset()


def summarizer(server: tuple[str, Faults] | str, **more: object) -> ServerSummarizer:
    base_url, model = (server, "m") if isinstance(server, str) else (server[0], server[1].model)
    settings: dict[str, object] = {
        "backend": "openai",
        "base_url": base_url,
        "model": model,
        "max_new_tokens": 16,
        "timeout_s": 60.0,
        **more,
    }
    made = make_summarizer(SummarizerOptions(**settings), get_encoder())  # type: ignore[arg-type]
    assert isinstance(made, ServerSummarizer)
    return made


def test_the_real_server_answers_and_random_words_fall_back_with_the_reason(
    server: tuple[str, Faults],
) -> None:
    faults = server[1]
    summary = summarizer(server).summarize(BRIDGE)
    assert len(faults.seen) == 1  # the real model was asked, once
    body = faults.seen[0].body
    assert body["model"] == faults.model and body["max_tokens"] == 16
    assert body["response_format"] == {"type": "json_object"}
    assert "Norwich" in faults.seen[0].prompt and "English" in faults.seen[0].prompt
    assert summary.method == "extractive"  # a random model's words are not points
    assert summary.fallback_reason and summary.fallback_reason.startswith("0 of ")


def test_a_good_answer_gives_checked_points(server: tuple[str, Faults]) -> None:
    faults = server[1]
    faults.then(("content", json.dumps(GOOD)))
    made = summarizer(server)
    summary = made.summarize(BRIDGE)
    assert summary.method == "openai" and summary.model == faults.model
    assert summary.fallback_reason is None and summary.dropped_points == 0
    assert [p.text for p in summary.key_points] == GOOD["key_points"]
    assert [p.sources[0] for p in summary.key_points] == [0, 1, 2]
    assert summary.conclusion is not None and summary.conclusion.sources[0] == 4
    assert summary.prompt_version == made.prompt.version == "keypoints-json-1"


def test_an_invented_number_or_name_is_dropped_with_its_reason(
    server: tuple[str, Faults],
) -> None:
    faults = server[1]
    invented = {
        "key_points": [
            *GOOD["key_points"],
            "The bridge will cost 90 million pounds and open in 2028.",
            "Mayor John Smith said the crossing would cut traffic in the old town.",
        ]
    }
    faults.then(("content", json.dumps(invented)))
    summary = summarizer(server).summarize(BRIDGE)
    assert summary.method == "openai"
    assert [p.text for p in summary.key_points] == GOOD["key_points"]
    assert summary.dropped_points == 2
    assert summary.dropped_why[0] == (
        "not in the article: 90: The bridge will cost 90 million pounds and open in 2028."
    )
    assert summary.dropped_why[1].startswith("not in the article: John, Smith: ")


def test_a_plain_list_is_accepted_and_malformed_json_falls_back(
    server: tuple[str, Faults],
) -> None:
    faults = server[1]
    faults.then(("content", "```json\n" + json.dumps(GOOD["key_points"]) + "\n```"))
    listed = summarizer(server).summarize(BRIDGE)
    assert listed.method == "openai" and len(listed.key_points) == 3
    for broken, why in (
        ('{"key_points": ["The bridge will cost', "malformed JSON answer"),
        ('{"key_points": "one string"}', "no list of key points"),
        ('{"key_points": [1, 2, 3]}', "no list of key points"),
        ('{"key_points": [], "conclusion": {"a": 1}}', "conclusion is not a string"),
    ):
        faults.then(("content", broken))
        summary = summarizer(server).summarize(BRIDGE)
        assert summary.method == "extractive", broken
        assert summary.fallback_reason and why in summary.fallback_reason, broken


def test_a_429_then_success_is_retried_with_backoff(
    server: tuple[str, Faults], caplog: pytest.LogCaptureFixture
) -> None:
    faults = server[1]
    faults.then(("status", 429), ("status", 503), ("content", json.dumps(GOOD)))
    with caplog.at_level(logging.INFO, logger="digest.summarize.server"):
        summary = summarizer(server, retries=2).summarize(BRIDGE)
    assert summary.method == "openai" and len(faults.seen) == 3
    assert "HTTP 429; retry 1" in caplog.text and "HTTP 503; retry 2" in caplog.text
    faults.reset()
    faults.then(("status", 429), ("status", 429))
    spent = summarizer(server, retries=1).summarize(BRIDGE)
    assert spent.method == "extractive" and len(faults.seen) == 2
    assert spent.fallback_reason and "HTTP 429" in spent.fallback_reason


def test_a_slow_server_is_a_timeout_and_a_fallback(server: tuple[str, Faults]) -> None:
    url, faults = server
    faults.then(("sleep", 3.0))
    summary = summarizer(server, timeout_s=0.5, retries=0).summarize(BRIDGE)
    assert summary.method == "extractive"
    assert summary.fallback_reason == (
        f"model server: {url}/chat/completions: no answer within 0.5 s (summarizer.timeout_s)"
    )


def test_the_budget_bounds_the_run(server: tuple[str, Faults]) -> None:
    faults = server[1]
    faults.then(("content", json.dumps(GOOD)), ("content", json.dumps(GOOD)))
    other = replace(BRIDGE, id="s2", content_hash="s2hash")
    first, second = summarizer(server, max_requests=1, concurrency=1).summarize_many(
        [BRIDGE, other]
    )
    assert first.method == "openai" and len(faults.seen) == 1
    assert second.fallback_reason and "budget of 1 requests is spent" in second.fallback_reason
    faults.reset()
    faults.then(("content", json.dumps(GOOD)), ("content", json.dumps(GOOD)))
    made = summarizer(server, max_tokens=50, concurrency=1)
    first, second = made.summarize_many([BRIDGE, other])
    assert first.method == "openai" and len(faults.seen) == 1
    assert made.server.tokens > 50  # the server's own count of the first exchange
    assert second.fallback_reason and "budget of 50 tokens is spent" in second.fallback_reason


def test_requests_in_flight_are_bounded_by_concurrency(server: tuple[str, Faults]) -> None:
    faults = server[1]
    articles = [replace(BRIDGE, id=f"c{n}", content_hash=f"c{n}h") for n in range(5)]
    faults.then(*[("sleep", 0.6)] * 5)
    summaries = summarizer(server, concurrency=2).summarize_many(articles)
    assert len(faults.seen) == 5 and len(summaries) == 5
    assert faults.peak == 2  # more than one at once, never more than asked


def test_a_long_article_is_mapped_and_reduced(server: tuple[str, Faults]) -> None:
    faults = server[1]
    paragraphs = tuple(
        f"Paragraph {n} says the bridge work in Norwich reached stage {n} on time." * 3
        for n in range(1, 13)
    )
    long = Article(
        id="s3", source="test", title="Bridge works", content_hash="s3h", language="en",
        sections=(Section(None, paragraphs),),
    )  # fmt: skip
    summary = summarizer(server, chunk_tokens=300).summarize(long)
    prompts = [s.prompt for s in faults.seen]
    assert len(prompts) >= 3  # at least two parts, then the merge
    assert all("This is part" in p for p in prompts[:-1])
    assert prompts[-1].startswith("These are notes taken from the")
    assert summary.fallback_reason  # the random model's notes are no points


def test_a_server_that_is_down_is_one_warning_and_every_article_falls_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    other = replace(BRIDGE, id="s4", content_hash="s4hash")
    with caplog.at_level(logging.WARNING):
        summaries = summarizer(url, concurrency=1).summarize_many([BRIDGE, other, BRIDGE])
    assert [s.method for s in summaries] == ["extractive"] * 3
    assert all("model server unreachable" in (s.fallback_reason or "") for s in summaries)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()


def test_an_unanswered_article_is_not_cached_and_is_asked_again(
    server: tuple[str, Faults], tmp_path: Path
) -> None:
    from digest.store import open_database
    from digest.store.summaries import SummaryCache
    from digest.summarize import summarize_many

    # the same cache key (backend, model, version), one server down, the other up
    down = summarizer(f"http://127.0.0.1:{free_port()}/v1", model=server[1].model)
    up = summarizer(server)
    server[1].then(("content", json.dumps(GOOD)))
    with open_database(tmp_path / "digest.db") as db:
        cache = SummaryCache(db)
        first = summarize_many([BRIDGE], down, cache).by_id["s1"]
        assert first.method == "extractive" and cache.count() == 0
        again = summarize_many([BRIDGE], up, cache).by_id["s1"]
        assert again.method == "openai" and cache.count() == 1
        assert summarize_many([BRIDGE], down, cache).by_id["s1"].method == "openai"  # cached


def test_the_key_comes_from_the_environment_and_never_reaches_the_logs(
    server: tuple[str, Faults],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    faults = server[1]
    monkeypatch.setenv("DIGEST_TEST_LLM_KEY", KEY)
    faults.then(("status", 500), ("content", json.dumps(GOOD)), ("status", 401))
    with caplog.at_level(logging.DEBUG):
        made = summarizer(server, api_key_env="DIGEST_TEST_LLM_KEY", retries=1)
        summary = made.summarize(BRIDGE)
        refused = made.summarize(BRIDGE)
    assert [s.headers["authorization"] for s in faults.seen] == [f"Bearer {KEY}"] * 3
    assert summary.method == "openai"
    assert refused.fallback_reason and "check the environment variable DIGEST_TEST_LLM_KEY" in (
        refused.fallback_reason
    )
    assert KEY not in caplog.text and KEY not in repr(refused)
    faults.reset()
    monkeypatch.delenv("DIGEST_TEST_LLM_KEY")
    summarizer(server).summarize(BRIDGE)
    assert "authorization" not in faults.seen[0].headers  # no key, no header


def test_the_quality_benchmark_counts_what_the_check_made_of_the_answers(
    server: tuple[str, Faults],
) -> None:
    from tests.conftest import load_bench

    quality = load_bench("quality")
    if not quality.DATA.is_file():
        pytest.skip(f"{quality.DATA} is absent")
    rows = quality.load_rows(limit=3)
    first = quality.lead3(rows[:1])[0].split("\n")  # three of its own sentences: they pass
    faults = server[1]
    faults.then(
        ("content", json.dumps({"key_points": first})),
        ("content", json.dumps({"key_points": ["Aliens landed in Ohio in 1999 at noon."]})),
        ("content", "{not json"),
    )
    options = SummarizerOptions(
        backend="openai", base_url=server[0], model=faults.model, min_key_points=3,
        max_key_points=3, max_new_tokens=16, concurrency=1, chunk_tokens=4000,
    )  # fmt: skip
    figures = quality.server_points(rows, options)
    assert (figures.generated, figures.passed, figures.written) == (4, 3, 1)
    reasons = sorted(figures.fallbacks.items())
    assert [count for _, count in reasons] == [1, 1]
    assert reasons[0][0].startswith("model server: malformed JSON answer (Expecting property")
    assert reasons[1][0] == "too few points passed the check"
    assert figures.scores["rouge1"] > 0


def test_three_config_keys_give_checked_points_on_the_command_line(
    server: tuple[str, Faults], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from digest.cli import main

    url, faults = server
    config = tmp_path / "config.yaml"
    config.write_text(
        f"data_dir: data\nsummarizer:\n  backend: openai\n  base_url: {url}\n"
        f"  model: {faults.model}\n",
        encoding="utf-8",
    )
    text = tmp_path / "bridge.txt"
    text.write_text(BRIDGE.title + "\n\n" + "\n\n".join(BRIDGE.paragraphs) + "\n", encoding="utf-8")
    faults.then(("content", json.dumps(GOOD)))
    args = ["--config", str(config), "summarize", "--json", str(text)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["method"] == "openai"
    assert [p["text"] for p in data["key_points"]] == GOOD["key_points"]
    assert all(p["sources"] for p in data["key_points"])


# --- any script: the check itself, no server needed ----------------------------------------


def _checked(article: Article, points: list[str]) -> tuple[list[str], tuple[str, ...]]:
    options = SummarizerOptions(min_key_points=1, max_key_points=5)
    check = SupportCheck(options, get_encoder())
    sentences = [s for s in article_sentences(article) if not s.is_boilerplate]
    summary = check.summary(
        article, sentences, points, None, 5, method="openai", model="m", prompt_version="v"
    )
    return [p.text for p in summary.key_points], summary.dropped_why


def _article(key: str, language: str, *paragraphs: str) -> Article:
    return Article(
        id=key, source="t", title=paragraphs[0][:20], content_hash=key + "h",
        language=language, sections=(Section(None, paragraphs),),
    )  # fmt: skip


def test_numbers_and_names_are_checked_in_cjk_arabic_and_devanagari() -> None:
    chinese = _article(
        "zh", "zh",
        "国家航天局周一宣布，NASA与欧洲航天局将在2028年共同发射月球探测器。"
        "该项目预算为35亿元。",
    )  # fmt: skip
    kept, why = _checked(
        chinese,
        [
            "NASA与欧洲航天局将在2028年共同发射月球探测器。",
            "NASA与欧洲航天局将在2031年共同发射月球探测器。",  # invented year
            "SpaceX与欧洲航天局将在2028年共同发射月球探测器。",  # invented name
        ],
    )
    assert kept == ["NASA与欧洲航天局将在2028年共同发射月球探测器。"]
    assert why[0].startswith("not in the article: 2031:")
    assert why[1].startswith("not in the article: SpaceX:")

    urdu = _article(
        "ur", "ur",
        "حکومت نے پیر کو اعلان کیا کہ کراچی میں ۲۰۲۸ تک نئی میٹرو لائن مکمل ہو جائے گی۔",
    )  # fmt: skip
    kept, why = _checked(
        urdu,
        [
            "کراچی میں 2028 تک نئی میٹرو لائن مکمل ہو جائے گی۔",  # the same year, other digits
            "کراچی میں ۲۰۳۵ تک نئی میٹرو لائن مکمل ہو جائے گی۔",
        ],
    )
    assert kept == ["کراچی میں 2028 تک نئی میٹرو لائن مکمل ہو جائے گی۔"]
    assert why[0].startswith("not in the article: ۲۰۳۵:")

    hindi = _article(
        "hi", "hi",
        "सरकार ने सोमवार को बताया कि दिल्ली में २०२७ तक १२ नए अस्पताल खुलेंगे।",
    )  # fmt: skip
    kept, why = _checked(
        hindi,
        [
            "दिल्ली में 2027 तक 12 नए अस्पताल खुलेंगे।",
            "दिल्ली में २०२७ तक ४० नए अस्पताल खुलेंगे।",
        ],
    )
    assert kept == ["दिल्ली में 2027 तक 12 नए अस्पताल खुलेंगे।"]
    assert why[0].startswith("not in the article: ४०:")


def test_the_prompt_asks_for_the_article_language(server: tuple[str, Faults]) -> None:
    faults = server[1]
    german = _article(
        "de", "de",
        "Der Stadtrat von Leipzig hat am Montag den Bau einer neuen Brücke beschlossen."
        " Die Brücke soll 40 Millionen Euro kosten und 2028 eröffnet werden.",
    )  # fmt: skip
    points = [
        "Der Stadtrat von Leipzig hat am Montag den Bau einer neuen Brücke beschlossen.",
        "Die Brücke soll 40 Millionen Euro kosten und 2028 eröffnet werden.",
        "Die Brücke soll 45 Millionen Euro kosten.",
    ]
    faults.then(("content", json.dumps({"key_points": points})))
    summary = summarizer(server, min_key_points=2).summarize(german)
    assert "written in German, the language of the article" in faults.seen[0].prompt
    assert [p.text for p in summary.key_points] == points[:2]
    assert summary.dropped_why[0].startswith("not in the article: 45:")


def test_parse_answer_reads_objects_lists_and_bullets() -> None:
    assert parse_answer('{"points": ["Erste Aussage hier.", "Zweite Aussage dort."]}') == (
        ["Erste Aussage hier.", "Zweite Aussage dort."],
        None,
    )
    assert parse_answer("- A first point here.\n- A second point there.\nConclusion: Done now.")[
        1
    ] == ("Done now.")


# --- the config ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("  base_url: http://gpu-box:11434/v1\n", "summarizer.model is not set"),
        ("  model: m\n  base_url: ftp://gpu-box/v1\n", "must be the http(s) address"),
        ("  model: m\n", "must be the http(s) address"),
        ("  model: m\n  base_url: http://h:11434x/v1\n", "must be the http(s) address"),
        (
            "  model: m\n  base_url: http://gpu-box:11434/v1\n  api_key_env: sk-abc123\n",
            "must be the name of an environment variable",
        ),
        ("  model: m\n  base_url: http://h/v1\n  concurrency: 0\n", "summarizer.concurrency"),
    ],
)
def test_the_server_config_is_checked(tmp_path: Path, lines: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("sources: []\nsummarizer:\n  backend: openai\n" + lines, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(path)


def test_three_keys_are_enough(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "sources: []\nsummarizer:\n  backend: openai\n  base_url: http://10.0.0.7:11434/v1\n"
        "  model: llama3.2:3b\n",
        encoding="utf-8",
    )
    options = load_config(path).summarizer
    assert (options.backend, options.base_url, options.model) == (
        "openai",
        "http://10.0.0.7:11434/v1",
        "llama3.2:3b",
    )

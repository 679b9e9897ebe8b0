"""The editor's actions on the draft: pure functions of the edition (drop, pin, move, swap,
edit-point, headline, note, replay), and `digest edition <action>` on a saved edition:
recorded with who and when, one-line errors, the editor's panel, the note in the mail."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner, Result

from digest.cli import main
from digest.config import Config, load_config
from digest.edition.actions import apply_action, replay, resolve_action
from digest.errors import EditionError
from digest.models import DeskAction, DeskActionKind, Edition, LeftOut, LeftOutReason
from digest.publish.render import render_edition
from digest.store import EditionStore, open_database
from digest.store.desk import DeskStore
from tests.newsletter_sample import sample_edition

DAY = "2026-11-24"
AT = datetime(2026, 11, 24, 5, 30, tzinfo=UTC)


def action(kind: DeskActionKind, article_id: str = "", **fields: object) -> DeskAction:
    return DeskAction(kind=kind, editor="ana", at=AT, article_id=article_id, **fields)  # type: ignore[arg-type]


def order(edition: Edition) -> list[str]:
    return [s.article_id for s in edition.stories]


BUILT = [
    "a-geneva-talks",
    "d-sahel-aid",
    "f-glacier",
    "h-malaria",
    "i-probe",
    "j-chips",
    "m-rates",
]


def test_drop_moves_the_story_to_the_left_out_list() -> None:
    edition = apply_action(sample_edition(), action("drop", "d-sahel-aid"))
    assert "d-sahel-aid" not in order(edition)
    assert edition.left_out[0].article_id == "d-sahel-aid"
    assert edition.left_out[0].reason == "dropped by ana"
    assert len(edition.left_out) == len(sample_edition().left_out) + 1


def test_move_keeps_a_story_with_its_section_and_sections_follow_their_first_story() -> None:
    assert order(sample_edition()) == BUILT
    moved = apply_action(sample_edition(), action("move", "m-rates", position=1))
    assert order(moved) == ["m-rates", "j-chips", *BUILT[:5]]
    assert [s.name for s in moved.sections] == [
        "Technology & Economy",
        "World",
        "Science & Climate",
    ]
    swapped = apply_action(sample_edition(), action("swap", "f-glacier", other_id="h-malaria"))
    assert order(swapped) == ["a-geneva-talks", "d-sahel-aid", "h-malaria", "f-glacier", *BUILT[4:]]


def test_a_pin_holds_its_place_through_later_moves() -> None:
    actions = [
        action("pin", "i-probe", position=1),
        action("move", "a-geneva-talks", position=1),
        action("drop", "f-glacier"),
    ]
    result = replay(sample_edition(), actions)
    assert result.skipped == ()
    assert order(result.edition)[0] == "i-probe"
    assert [e.line for e in result.edition.desk] == [
        "pinned “Europa probe completes final Earth flyby on its way to Jupiter” at 1",
        "moved “Ceasefire talks resume in Geneva as both sides trade draft maps” to 1",
        "dropped “Alpine glaciers lost 4% of their volume this year, survey finds”",
    ]


def test_an_edited_point_is_the_editors_never_extracted_and_keeps_the_original() -> None:
    text = "Die Ministerin sprach von „Fortschritt“ — وزيرة: تقدم"
    first = apply_action(sample_edition(), action("edit-point", "f-glacier", position=2, text=text))
    story = next(s for s in first.stories if s.article_id == "f-glacier")
    original = sample_edition().stories[2].summary.key_points[1]
    point = story.summary.key_points[1]
    assert (point.text, point.sources, point.edited_by) == (text, (), "ana")
    assert point.original == original.text
    again = apply_action(first, action("edit-point", "f-glacier", position=2, text="Zweiter Text"))
    story = next(s for s in again.stories if s.article_id == "f-glacier")
    assert story.summary.key_points[1].original == original.text  # the first original stays


def test_replay_reports_actions_whose_story_is_gone() -> None:
    without = apply_action(sample_edition(), action("drop", "h-malaria"))
    result = replay(
        without,
        [action("headline", "h-malaria", text="Neuer Titel"), action("pin", "j-chips", position=1)],
    )
    assert [e.note for e in result.skipped] == [
        "not applied: no story with id 'h-malaria' in this edition"
    ]
    assert order(result.edition)[0] == "j-chips"
    assert [e.applied for e in result.edition.desk] == [False, True]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (action("drop", "zzzzzz"), "no story with id 'zzzzzz' in this edition"),
        (action("drop", "m-r"), "give at least 6 characters"),
        (action("headline", "m-rates", text="   "), "the headline is empty"),
        (action("headline", "m-rates", text="a\x1b[2Jb"), "control character"),
        (action("note", text="x" * 1001), "at most 1000"),
        (action("promote", "m-rates"), "is a story already"),
        (action("promote", "nope00"), "no More news or left-out article with id 'nope00'"),
    ],
)
def test_bad_ids_and_texts_are_one_line_errors(bad: DeskAction, message: str) -> None:
    with pytest.raises(EditionError, match=message.replace("(", r"\(")):
        resolve_action(sample_edition(), bad)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (action("move", "m-rates", position=0), "position 0 is out of range (1 to 7)"),
        (action("pin", "m-rates", position=8), "position 8 is out of range (1 to 7)"),
        (action("edit-point", "i-probe", position=3, text="x"), "key point 3 is out of range"),
    ],
)
def test_positions_out_of_range_are_errors(bad: DeskAction, message: str) -> None:
    with pytest.raises(EditionError) as caught:
        apply_action(sample_edition(), bad)
    assert str(caught.value).startswith(message)


def test_a_prefix_of_six_characters_names_a_story() -> None:
    resolved = resolve_action(sample_edition(), action("drop", "a-gene"))
    assert resolved.article_id == "a-geneva-talks"


def test_the_note_is_at_the_top_of_the_mail_escaped() -> None:
    note = "Heute kürzer: <b>Streik</b> — اليوم أقصر"
    edition = apply_action(sample_edition(), action("note", text=note))
    rendered = render_edition(edition, Config().newsletter)
    doc = lxml.html.document_fromstring(rendered.html)
    [found] = doc.find_class("editor-note")
    assert found.text_content() == f"From the editor: {note}"
    assert "<b>Streik</b>" not in rendered.html
    assert "From the editor: Heute kürzer: <b>Streik</b>" in rendered.text
    # the note sits above the first story
    assert rendered.html.index('class="editor-note') < rendered.html.index('class="headline-link')


# --- through the CLI, on a saved edition ----------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("data_dir: data\nsources: []\n", encoding="utf-8")
    with open_database(load_config(path).store_path) as db:
        EditionStore(db).save(sample_edition())
    return path


def digest(config_file: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config_file), *args])


def test_actions_are_recorded_with_who_and_when_and_shown_in_the_panel(config_file: Path) -> None:
    steps = [
        ("drop", "d-sahel-aid"),
        ("pin", "m-rates", "--editor", "Oluwaseun"),
        ("edit-point", "f-glacier", "1", "氷河の体積が4%減った"),
        ("headline", "i-probe", "Europa-Sonde: letzter Vorbeiflug"),
        ("note", "Short one today."),
    ]
    for step in steps:
        result = digest(config_file, "edition", *step, "--date", DAY, "--editor", "ana")
        assert result.exit_code == 0, result.output
    before = datetime.now(UTC)
    config = load_config(config_file)
    with open_database(config.store_path) as db:
        recorded = DeskStore(db).actions(date(2026, 11, 24))
        saved = EditionStore(db).for_day(date(2026, 11, 24))
    assert [(a.kind, a.article_id, a.editor) for a in recorded] == [
        ("drop", "d-sahel-aid", "ana"),
        ("pin", "m-rates", "ana"),  # the last --editor wins
        ("edit-point", "f-glacier", "ana"),
        ("headline", "i-probe", "ana"),
        ("note", "", "ana"),
    ]
    assert all(a.at <= before for a in recorded)
    assert saved is not None and order(saved)[0] == "m-rates" and saved.note == "Short one today."
    assert "d-sahel-aid" not in order(saved)

    preview = digest(config_file, "preview", "--date", DAY)
    assert preview.exit_code == 0, preview.output
    html_path = config_file.parent / "data" / "previews" / f"{DAY}.html"
    doc = lxml.html.document_fromstring(html_path.read_text(encoding="utf-8"))
    log = doc.get_element_by_id("digest-desk-log").text_content()
    assert "Editor's actions (5)" in log
    assert "ana: dropped “Aid convoys reach Sahel towns cut off for three months”" in log
    assert "edited key point 1 of “Alpine glaciers" in log
    edited = doc.find_class("edited-point")[0].text_content()
    assert edited.startswith("edited by ana (not extracted); original: “A survey of 176")
    left = doc.get_element_by_id("digest-left-out").text_content()
    assert "Aid convoys reach Sahel towns cut off for three months — dropped by ana" in left

    shown = digest(config_file, "edition", "--date", DAY, "--json")
    assert '"editor": "ana"' in shown.stdout and '"original": "A survey of 176' in shown.stdout


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("drop", "nothere"), "error: no story with id 'nothere' in this edition"),
        (("move", "m-rates", "99"), "error: position 99 is out of range (1 to 7)"),
        (("swap", "m-rates", "x1x1x1"), "error: no story with id 'x1x1x1' in this edition"),
        (("edit-point", "m-rates", "0", "x"), "error: key point 0 is out of range (1 to 3)"),
        (("promote", "a-geneva-talks"), "error: 'a-geneva-talks' is a story already"),
    ],
)
def test_bad_ids_and_positions_on_the_command_line(
    config_file: Path, args: tuple[str, ...], line: str
) -> None:
    result = digest(config_file, "edition", *args, "--date", DAY)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [line]
    with open_database(load_config(config_file).store_path) as db:
        assert DeskStore(db).actions(date(2026, 11, 24)) == []  # nothing recorded
        assert EditionStore(db).for_day(date(2026, 11, 24)) == sample_edition()


def test_move_needs_a_number(config_file: Path) -> None:
    result = digest(config_file, "edition", "move", "m-rates", "first", "--date", DAY)
    assert result.exit_code == 2 and "'first' is not a valid integer" in result.stderr


def test_edition_without_a_subcommand_still_prints_the_edition(config_file: Path) -> None:
    result = digest(config_file, "edition", "--date", DAY)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(sample_edition().title)
    assert replace(sample_edition(), note="").note == ""


def test_the_groups_date_reaches_the_action(config_file: Path) -> None:
    result = digest(config_file, "edition", "--date", DAY, "drop", "i-probe")
    assert result.exit_code == 0, result.output
    with open_database(load_config(config_file).store_path) as db:
        assert [a.kind for a in DeskStore(db).actions(date(2026, 11, 24))] == ["drop"]


def with_a_sent_line(edition: Edition) -> Edition:
    """The sample with an article an earlier edition sent (Urdu title) among the left out."""
    sent = LeftOut(
        "s-sent-before",
        "کراچی میں بارش کا نیا ریکارڈ",
        LeftOutReason("already_sent", edition_id="2026-11-23").text(),
        "already_sent",
    )
    return replace(edition, left_out=(sent, *edition.left_out))


def test_promote_of_an_article_sent_before_needs_resend() -> None:
    edition = with_a_sent_line(sample_edition())
    with pytest.raises(EditionError) as refused:
        resolve_action(edition, action("promote", "s-sent"))
    assert str(refused.value) == (
        "“کراچی میں بارش کا نیا ریکارڈ” was already sent in edition 2026-11-23: promoting it"
        " sends it again to subscribers who had it (`digest edition promote --resend` to do it"
        " anyway)"
    )
    resolved = resolve_action(edition, action("promote", "s-sent"), resend=True)
    assert resolved.article_id == "s-sent-before"
    # An edition saved before reasons had kinds: known by its line.
    old = replace(edition, left_out=(replace(edition.left_out[0], kind=None),))
    with pytest.raises(EditionError, match="already sent in edition 2026-11-23"):
        resolve_action(old, action("promote", "s-sent-before"))
    # Other left-out lines promote as before.
    other = edition.left_out[1].article_id
    assert resolve_action(edition, action("promote", other)).article_id == other


def test_promote_of_a_sent_article_is_refused_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("data_dir: data\nsources: []\n", encoding="utf-8")
    edition = with_a_sent_line(sample_edition())
    with open_database(load_config(path).store_path) as db:
        EditionStore(db).save(edition)
    result = digest(path, "edition", "promote", "s-sent-before", "--date", DAY)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: “کراچی میں بارش کا نیا ریکارڈ” was already sent in edition 2026-11-23:"
        " promoting it sends it again to subscribers who had it"
        " (`digest edition promote --resend` to do it anyway)"
    ]
    with open_database(load_config(path).store_path) as db:
        assert DeskStore(db).actions(date(2026, 11, 24)) == []
        assert EditionStore(db).for_day(date(2026, 11, 24)) == edition
    # With --resend the refusal is gone (here the article is not in the store to summarise).
    forced = digest(path, "edition", "promote", "s-sent-before", "--resend", "--date", DAY)
    assert forced.exit_code == 1
    assert forced.stderr.strip() == "error: article s-sent-before is no longer in the store"


def test_the_desk_offers_no_promote_for_an_article_sent_before(tmp_path: Path) -> None:
    from digest.pipeline.options import page_settings
    from digest.publish.preview import preview_page
    from digest.web.desk import add_desk_controls

    edition = with_a_sent_line(sample_edition())
    page = preview_page(page_settings(Config(base_dir=str(tmp_path))), edition).html
    doc = lxml.html.document_fromstring(add_desk_controls(page, edition, "t" * 32))
    left = doc.get_element_by_id("digest-left-out")
    lines = [li for li in left.iter("li") if li.getparent().getparent() is left]
    assert len(lines) == len(edition.left_out)
    assert "already sent in edition 2026-11-23" in lines[0].text_content()
    assert "Promote" not in lines[0].text_content()
    assert all("Promote" in line.text_content() for line in lines[1:])


# --- unrelate: the desk removes a related item ----------------------------------------------


def test_unrelate_removes_one_related_item_by_id_or_by_title() -> None:
    edition = sample_edition()
    by_id = resolve_action(edition, action("unrelate", "a-geneva", other_id="a-old-2"))
    assert (by_id.article_id, by_id.other_id) == ("a-geneva-talks", "a-old-2")
    after = apply_action(edition, by_id)
    (story,) = [s for s in after.stories if s.article_id == "a-geneva-talks"]
    assert [i.article_id for i in story.related] == ["a-old-1"]
    glacier = next(s for s in edition.stories if s.article_id == "f-glacier")
    title = next(i.title for i in glacier.related if i.article_id is None)
    resolved = resolve_action(edition, action("unrelate", "f-glacier", other_id=title))
    after = apply_action(edition, resolved)
    glacier = next(s for s in after.stories if s.article_id == "f-glacier")
    assert [i.article_id for i in glacier.related] == ["f-old-1"]
    # The other stories keep theirs.
    assert [s.related for s in after.stories if s.article_id != "f-glacier"] == [
        s.related for s in edition.stories if s.article_id != "f-glacier"
    ]


def test_unrelate_of_an_item_the_story_lacks_is_a_one_line_error() -> None:
    with pytest.raises(EditionError, match=r"'d-old-1' is no related item of “Ceasefire"):
        resolve_action(sample_edition(), action("unrelate", "a-geneva-talks", other_id="d-old-1"))


def test_dropping_a_story_drops_the_cross_references_to_it() -> None:
    from digest.models import RelatedItem

    edition = sample_edition()
    first = edition.stories[0]
    cross = RelatedItem("Aid convoys", article_id="d-sahel-aid", kind="in_edition")
    sections = [
        replace(
            sec,
            stories=tuple(
                replace(s, related=(*s.related, cross)) if s is first else s for s in sec.stories
            ),
        )
        for sec in edition.sections
    ]
    edition = replace(edition, sections=tuple(sections))
    assert cross in edition.stories[0].related
    dropped = apply_action(edition, action("drop", "d-sahel-aid"))
    assert cross not in dropped.stories[0].related
    assert dropped.stories[0].related == first.related


def test_unrelate_on_the_command_line_is_recorded_and_kept(config_file: Path) -> None:
    result = digest(
        config_file, "edition", "unrelate", "h-malaria", "h-old-1", "--date", DAY, "--editor", "bo"
    )
    assert result.exit_code == 0, result.output
    assert "removed related item “Artemisinin resistance" in result.output
    config = load_config(config_file)
    with open_database(config.store_path) as db:
        saved = EditionStore(db).for_day(date(2026, 11, 24))
        recorded = DeskStore(db).actions(date(2026, 11, 24))
    assert saved is not None
    malaria = next(s for s in saved.stories if s.article_id == "h-malaria")
    assert malaria.related == ()
    assert [(a.kind, a.other_id, a.editor) for a in recorded] == [("unrelate", "h-old-1", "bo")]
    again = digest(config_file, "edition", "unrelate", "h-malaria", "h-old-1", "--date", DAY)
    assert again.exit_code != 0 and "no related item" in again.output


def test_the_desk_offers_unrelate_for_each_related_item(tmp_path: Path) -> None:
    from urllib.parse import urlencode

    from digest.pipeline.options import page_settings
    from digest.publish.preview import preview_page
    from digest.web.desk import add_desk_controls, read_action_form

    edition = sample_edition()
    page = preview_page(page_settings(Config(base_dir=str(tmp_path))), edition).html
    doc = lxml.html.document_fromstring(add_desk_controls(page, edition, "t" * 32))
    forms = [f for f in doc.iter("form") if "desk-unrelate" in (f.get("class") or "")]
    wanted = [(s.article_id, i.article_id or i.title) for s in edition.stories for i in s.related]
    found = []
    for form in forms:
        fields = {i.get("name"): i.get("value") for i in form.iter("input")}
        found.append((fields["id"], fields["other"]))
    assert found == wanted
    fields = {i.get("name"): i.get("value") or "" for i in forms[0].iter("input")}
    posted = read_action_form(urlencode(fields).encode(), "t" * 32)
    assert (posted.kind, posted.article_id, posted.other_id) == ("unrelate", *wanted[0])

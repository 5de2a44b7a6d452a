"""Attachments (liitteet) of a proposal and evidence of an assessment area (issue 13, part 2):
the limits declared once on the command (size, type read from the content, the virus scan),
who may add and remove, the publicity listed, the logged download of a non-public
attachment (TiHL 17 §), the API and the command line."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pydantic import ValidationError
from sqlalchemy import event

from eva_engine.config import default_workflows_dir
from eva_engine.db.migrate import upgrade
from eva_engine.db.unit_of_work import Database
from eva_engine.errors import InvalidInput, NotFound, PermissionDenied
from eva_engine.rendering.summary import render_summary
from eva_engine.services.assessment import editor
from eva_engine.services.attachments import commands, queries, store
from eva_engine.services.attachments.commands import AddAttachment, RemoveAttachment
from eva_engine.services.exchange import summaries
from eva_engine.services.history import trail
from eva_engine.services.installation import backup as backups
from eva_engine.services.runtime import Eva
from eva_engine.vocabulary import Publicity
from tests.api_support import Api, api_app, api_as, problem
from tests.builders import as_, build_world, new_proposal
from tests.conftest import FreshDatabase, World, publish_workflows
from tests.exchange_support import run, run_json
from tests.test_web import app, csrf, login

PDF = b"%PDF-1.4\n% Liitteena hakemus\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
__all__ = ["api_app", "api_as", "app"]

GROUND = "JulkL 24 § 1 mom. 25 k"


@pytest.fixture
def store_dir(eva: Eva) -> Path:
    return eva.attachments_dir


def attach(eva: Eva, pid: int, content: bytes = PDF, **values: object) -> queries.AttachmentView:
    fields: dict[str, object] = {"file_name": "hakemus.pdf", **values}
    command = AddAttachment.model_validate({"proposal_id": pid, "content": content, **fields})
    return commands.add_attachment(eva, as_("prep"), command)


def test_liitteena_hakemus_is_recorded_listed_and_downloaded(
    eva: Eva, world: World, store_dir: Path
) -> None:
    pid = new_proposal(eva)
    view = attach(eva, pid, file_name="Hakemus Terve Kunta -verkostoon.pdf")
    assert view.media_type == store.PDF
    assert view.size == len(PDF)
    assert store.blob_path(store_dir, view.sha256).read_bytes() == PDF
    again = attach(eva, pid, file_name="kopio.pdf")
    assert again.sha256 == view.sha256  # kept once
    listed = queries.attachments(eva, as_("pres"), pid)
    assert [(a.file_name, a.publicity, a.uploaded_by) for a in listed.attachments] == [
        ("Hakemus Terve Kunta -verkostoon.pdf", Publicity.PUBLIC, "prep"),
        ("kopio.pdf", Publicity.PUBLIC, "prep"),
    ]
    got = queries.download(eva, as_("pres"), view.id)
    assert got.content == PDF
    history = trail.proposal_history(eva, as_("aud"), pid)
    assert not [e for e in history if e.action == "attachment.download"]  # public: not logged
    commands.remove_attachment(eva, as_("prep"), RemoveAttachment(attachment_id=again.id))
    assert [a.id for a in queries.attachments(eva, as_("prep"), pid).attachments] == [view.id]
    with pytest.raises(NotFound):
        queries.download(eva, as_("prep"), again.id)


def test_a_non_public_attachment_needs_its_ground_and_its_download_is_logged(
    eva: Eva, world: World, store_dir: Path
) -> None:
    pid = new_proposal(eva)
    with pytest.raises(ValidationError):
        attach(eva, pid, publicity=Publicity.CONFIDENTIAL)
    secret = attach(eva, pid, publicity=Publicity.CONFIDENTIAL, confidentiality_ground=GROUND)
    listed = queries.attachments(eva, as_("prep"), pid).attachments
    assert [(a.publicity, a.confidentiality_ground) for a in listed] == [
        (Publicity.CONFIDENTIAL, GROUND)
    ]
    queries.download(eva, as_("pres"), secret.id)
    downloads = [
        (e.actor, e.action)
        for e in trail.proposal_history(eva, as_("aud"), pid)
        if e.action == "attachment.download"
    ]
    assert downloads == [("pres", "attachment.download")]


def test_the_limits_size_type_and_scan(
    eva: Eva, world: World, store_dir: Path, tmp_path: Path
) -> None:
    pid = new_proposal(eva)
    with pytest.raises(ValidationError):
        attach(eva, pid, content=b"%PDF-" + b"x" * commands.MAX_ATTACHMENT_BYTES)
    with pytest.raises(ValidationError):
        attach(eva, pid, content=b"")
    with pytest.raises(InvalidInput):  # an executable named .pdf is not a PDF
        attach(eva, pid, content=b"MZ\x90\x00\x03\x00\x00\x00\x04\x00")
    with pytest.raises(InvalidInput):
        attach(eva, pid, content=b"\x00\x01binary", file_name="data.txt")
    scanner = tmp_path / "scan.py"
    scanner.write_text(
        "import sys\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "sys.exit(1 if b'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' in data else 0)\n"
    )
    eva.attachment_scan = f"{sys.executable} {scanner}"
    with pytest.raises(InvalidInput) as refused:
        attach(eva, pid, content=EICAR, file_name="virus.txt")
    assert "virus" in str(refused.value.problems[0]).lower()
    assert not list(store_dir.rglob("*")) or not any(p.is_file() for p in store_dir.rglob("*"))
    clean = attach(eva, pid, content=b"puhdas teksti\n", file_name="muistio.txt")
    assert clean.media_type == store.TEXT
    assert [a.file_name for a in queries.attachments(eva, as_("prep"), pid).attachments] == [
        "muistio.txt"
    ]


def test_who_may_attach_and_see(eva: Eva, world: World, store_dir: Path) -> None:
    pid = new_proposal(eva)
    with pytest.raises(PermissionDenied):
        commands.add_attachment(
            eva, as_("sec"), AddAttachment(proposal_id=pid, file_name="a.pdf", content=PDF)
        )
    view = attach(eva, pid)
    with pytest.raises(PermissionDenied):
        commands.remove_attachment(eva, as_("sec"), RemoveAttachment(attachment_id=view.id))


def test_sniffing_the_office_formats() -> None:
    import zipfile  # noqa: PLC0415

    def zipped(*names: tuple[str, bytes]) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for name, data in names:
                archive.writestr(name, data)
        return out.getvalue()

    assert store.sniff(zipped(("word/document.xml", b"<w/>")), "a.docx") == store.DOCX
    assert store.sniff(zipped(("xl/workbook.xml", b"<x/>")), "a.xlsx") == store.XLSX
    assert store.sniff(zipped(("mimetype", store.ODT.encode())), "a.odt") == store.ODT
    assert store.sniff(zipped(("other.bin", b"x")), "a.docx") is None
    assert store.sniff(b"\x89PNG\r\n\x1a\nxxxx", "a.pdf") == store.PNG
    assert store.sniff(b"a;b\n1;2\n", "taulu.csv") == store.CSV


def test_the_api_uploads_lists_downloads_and_removes(
    eva: Eva, world: World, store_dir: Path, api_as: Any
) -> None:
    pid = new_proposal(eva)
    api: Api = api_as("prep")
    sent = api.client.post(
        f"/api/v1/proposals/{pid}/attachments",
        data={
            "file": (io.BytesIO(PDF), "Liitteenä hakemus.pdf"),
            "publicity": "confidential",
            "confidentiality_ground": GROUND,
        },
        content_type="multipart/form-data",
        headers=api.headers(),
    )
    assert sent.status_code == 201, sent.get_data(as_text=True)
    made = sent.get_json()
    assert (made["file_name"], made["media_type"]) == ("Liitteenä hakemus.pdf", store.PDF)
    listed = api.get(f"/proposals/{pid}/attachments")
    assert [a["publicity"] for a in listed.get_json()["attachments"]] == ["confidential"]
    got = api_as("pres").get(f"/attachments/{made['id']}")
    assert got.status_code == 200
    assert got.data == PDF
    assert got.headers["Content-Type"] == store.PDF
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    actions = [e.action for e in trail.proposal_history(eva, as_("aud"), pid)]
    assert "attachment.download" in actions
    wrong = api.client.post(
        f"/api/v1/proposals/{pid}/attachments",
        data={"file": (io.BytesIO(b"MZ\x90\x00"), "ohjelma.pdf")},
        content_type="multipart/form-data",
        headers=api.headers(),
    )
    assert problem(wrong, 422)["errors"][0]["location"] == "file"
    missing = api.client.post(
        f"/api/v1/proposals/{pid}/attachments",
        data={"publicity": "public"},
        content_type="multipart/form-data",
        headers=api.headers(),
    )
    problem(missing, 422)
    outsider = api_as("outsider").get(f"/attachments/{made['id']}")
    problem(outsider, 404)
    removed = api.delete(f"/attachments/{made['id']}")
    assert removed.status_code == 200, removed.get_data(as_text=True)
    problem(api.get(f"/attachments/{made['id']}"), 404)
    doc = api.get("/openapi.json").get_json()
    upload = doc["paths"]["/api/v1/proposals/{proposal_id}/attachments"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]


def test_the_command_line_adds_lists_gets_and_removes(
    eva: Eva, world: World, store_dir: Path, tmp_path: Path
) -> None:
    pid = new_proposal(eva)
    source = tmp_path / "hakemus.pdf"
    source.write_bytes(PDF)
    made = run_json(
        eva,
        "attachments",
        "add",
        str(pid),
        str(source),
        "--publicity",
        "confidential",
        "--ground",
        GROUND,
        "--as",
        "prep",
    )
    listed = run(eva, "attachments", "list", str(pid), "--as", "pres").stdout
    assert "hakemus.pdf" in listed
    assert "confidential (JulkL" in listed
    target = tmp_path / "out.pdf"
    run(eva, "attachments", "get", str(made["id"]), "-o", str(target), "--as", "pres")
    assert target.read_bytes() == PDF
    assert "attachment.download" in [e.action for e in trail.proposal_history(eva, as_("aud"), pid)]
    wrong = tmp_path / "ohjelma.pdf"
    wrong.write_bytes(b"MZ\x90\x00")
    run(eva, "attachments", "add", str(pid), str(wrong), "--as", "prep", code=7)
    run(eva, "attachments", "remove", str(made["id"]), "--as", "prep")
    assert "No attachments." in run(eva, "attachments", "list", str(pid), "--as", "prep").stdout


@pytest.mark.postgres
def test_backup_and_restore_carry_the_files(fresh_databases: FreshDatabase, tmp_path: Path) -> None:
    source = Eva(
        Database.connect(fresh_databases.new_url()), default_workflows_dir(), tmp_path / "src"
    )
    target_url = fresh_databases.new_url()
    restored = Eva(Database.connect(target_url), default_workflows_dir(), tmp_path / "dst")
    try:
        upgrade(source.database.engine)
        publish_workflows(source)
        build_world(source)
        pid = new_proposal(source)
        made = attach(source, pid, publicity=Publicity.CONFIDENTIAL, confidentiality_ground=GROUND)
        url = source.database.engine.url.render_as_string(hide_password=False)
        report = backups.backup(url, tmp_path / "backup", None, source.attachments_dir)
        assert report.manifest.attachments == [made.sha256]
        back = backups.restore(tmp_path / "backup", target_url, None, (), restored.attachments_dir)
        assert back.ok, back.checks
        assert {c.name: c.ok for c in back.checks}["attachments"] is True
        assert queries.download(restored, as_("pres"), made.id).content == PDF
        assert trail.verify(restored).ok
        # A damaged file in the backup is found, not restored silently.
        blob = tmp_path / "backup" / "attachments" / made.sha256[:2] / made.sha256
        blob.write_bytes(b"%PDF-altered")
        again = backups.restore(
            tmp_path / "backup", fresh_databases.new_url(), None, (), tmp_path / "dst2"
        )
        assert {c.name: c.ok for c in again.checks}["attachments"] is False
    finally:
        source.database.dispose()
        restored.database.dispose()


def test_the_web_page_uploads_lists_and_downloads(
    eva: Eva, world: World, store_dir: Path, app: Flask
) -> None:
    pid = new_proposal(eva)
    client = app.test_client()
    login(client, "prep")
    page = client.get(f"/proposals/{pid}")
    html = page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html
    sent = client.post(
        f"/proposals/{pid}/attachments",
        data={
            "csrf_token": csrf(html),
            "file": (io.BytesIO(PDF), "Liitteenä hakemus.pdf"),
            "publicity": "confidential",
            "confidentiality_ground": GROUND,
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)
    html = client.get(f"/proposals/{pid}").get_data(as_text=True)
    assert "Liitteenä hakemus.pdf" in html
    assert GROUND in html
    made = queries.attachments(eva, as_("prep"), pid).attachments[0]
    got = client.get(f"/proposals/attachments/{made.id}")
    assert got.status_code == 200
    assert got.data == PDF
    assert got.headers["Content-Type"] == store.PDF
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    wrong = client.post(
        f"/proposals/{pid}/attachments",
        data={"csrf_token": csrf(html), "file": (io.BytesIO(b"MZ\x90\x00"), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 422
    assert "cannot be attached" in wrong.get_data(as_text=True) or "liittää" in wrong.get_data(
        as_text=True
    )
    removed = client.post(
        f"/proposals/attachments/{made.id}/remove", data={"csrf_token": csrf(html)}
    )
    assert removed.status_code == 302
    assert queries.attachments(eva, as_("prep"), pid).attachments == []


def test_evidence_is_uploaded_and_listed_on_its_area_page_only(
    eva: Eva, world: World, store_dir: Path, app: Flask
) -> None:
    pid = new_proposal(eva)
    first, second = [a.id for a in editor.area_matrix(eva, as_("prep"), pid, None).areas[:2]]
    client = app.test_client()
    login(client, "prep")
    page = client.get(f"/proposals/{pid}/areas/{first}").get_data(as_text=True)
    upload = page.split('class="evidence-upload"', 1)[1].split("</form>", 1)[0]
    assert f'name="area" value="{first}"' in upload
    assert page.count("<form") == page.count("</form>")  # no form inside another
    sent = client.post(
        f"/proposals/{pid}/attachments",
        data={
            "csrf_token": csrf(page),
            "file": (io.BytesIO(PDF), "Melutaso.pdf"),
            "publicity": "public",
            "area": first,
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    assert sent.headers["Location"].endswith(f"/proposals/{pid}/areas/{first}#evidence-heading")
    html = client.get(f"/proposals/{pid}/areas/{first}").get_data(as_text=True)
    evidence = html.split('id="evidence-heading"', 1)[1]
    made = queries.attachments(eva, as_("prep"), pid).attachments[0]
    assert made.area == first
    assert "Melutaso.pdf" in evidence
    assert "PDF-asiakirja" in evidence  # the kind of file by its name, not application/pdf
    assert store.PDF not in evidence
    assert f'href="/proposals/attachments/{made.id}"' in evidence
    other = client.get(f"/proposals/{pid}/areas/{second}").get_data(as_text=True)
    assert "Melutaso.pdf" not in other
    refused = client.post(
        f"/proposals/{pid}/attachments",
        data={
            "csrf_token": csrf(page),
            "file": (io.BytesIO(b"MZ\x90\x00"), "x.pdf"),
            "area": first,
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    again = refused.get_data(as_text=True)
    assert 'class="evidence-upload"' in again  # the area page again
    assert "Melutaso.pdf" in again
    auditor = app.test_client()
    login(auditor, "aud")
    read = auditor.get(f"/proposals/{pid}/areas/{first}").get_data(as_text=True)
    assert 'class="read-only"' in read
    assert "Melutaso.pdf" in read.split('id="evidence-heading"', 1)[1]
    assert 'class="evidence-upload"' not in read


def test_the_area_page_runs_as_many_statements_with_more_evidence(
    eva: Eva, world: World, store_dir: Path, app: Flask
) -> None:
    pid = new_proposal(eva)
    area = editor.area_matrix(eva, as_("prep"), pid, None).areas[0].id
    client = app.test_client()
    login(client, "prep")
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    def statements() -> int:
        client.get(f"/proposals/{pid}/areas/{area}")  # warm the caches alike
        seen.clear()
        event.listen(eva.database.engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/proposals/{pid}/areas/{area}").status_code == 200
        finally:
            event.remove(eva.database.engine, "before_cursor_execute", count)
        return len(seen)

    attach(eva, pid, area=area)
    few = statements()
    for i in range(5):
        attach(eva, pid, PDF + str(i).encode(), file_name=f"näyttö{i}.pdf", area=area)
    assert statements() == few


def test_the_summary_lists_the_attachments_and_a_public_one_only_the_public_ones(
    eva: Eva, world: World, store_dir: Path
) -> None:
    pid = new_proposal(eva)
    attach(eva, pid, file_name="hakemus.pdf")
    attach(
        eva,
        pid,
        file_name="terveystiedot.pdf",
        publicity=Publicity.CONFIDENTIAL,
        confidentiality_ground=GROUND,
    )
    internal = summaries.summary(eva, as_("pres"), pid)
    assert [(a.file_name, a.publicity) for a in internal.attachments] == [
        ("hakemus.pdf", Publicity.PUBLIC),
        ("terveystiedot.pdf", Publicity.CONFIDENTIAL),
    ]
    assert internal.attachments_omitted == 0
    public = summaries.summary(eva, as_("pres"), pid, public=True)
    assert [a.file_name for a in public.attachments] == ["hakemus.pdf"]
    assert public.attachments_omitted == 1
    assert [a.media_type for a in internal.attachments] == [store.PDF, store.PDF]
    for kind in ("html", "text"):
        inside = render_summary(internal, kind, "fi")
        assert "hakemus.pdf (PDF-asiakirja)" in inside
        assert "terveystiedot.pdf (PDF-asiakirja, salassa pidettävä)" in inside
        assert store.PDF not in inside
        for language, name in (("sv", "PDF-dokument"), ("en", "PDF document")):
            assert f"hakemus.pdf ({name})" in render_summary(internal, kind, language)
        assert "terveystiedot.pdf" in inside
        outside = render_summary(public, kind, "fi")
        assert "hakemus.pdf" in outside
        assert "terveystiedot.pdf" not in outside
        assert "ei-julkiset liitteet: 1" in outside
    assert "terveystiedot.pdf" not in public.model_dump_json()
    (appendix,) = summaries.summaries_of(eva, as_("pres"), [pid])
    assert appendix.attachments == internal.attachments


def test_every_kind_of_file_has_a_name_in_every_language() -> None:
    from eva_engine.rendering.labels import MEDIA_TYPES, Labels  # noqa: PLC0415
    from eva_engine.rendering.language import translations  # noqa: PLC0415

    assert set(MEDIA_TYPES) == set(commands.ALLOWED_TYPES)
    named = {
        language: Labels(translations(language).gettext).media_type_name
        for language in ("fi", "sv", "en")
    }
    assert named["fi"](store.PDF) == "PDF-asiakirja"
    assert named["fi"](store.DOCX) == "Word-asiakirja"
    assert named["fi"](store.XLSX) == "Excel-taulukko"
    assert named["fi"](store.PNG) == "kuva (PNG)"
    assert named["sv"](store.PDF) == "PDF-dokument"
    assert named["en"](store.XLSX) == "Excel spreadsheet"
    for media_type in commands.ALLOWED_TYPES:  # a name, never the media type itself
        assert all(name(media_type) != media_type for name in named.values())


def test_a_removed_attachments_file_stays_for_another_that_names_it_and_the_history_says_so(
    eva: Eva, world: World, store_dir: Path
) -> None:
    pid = new_proposal(eva)
    removed = attach(eva, pid, file_name="hakemus.pdf")
    other = new_proposal(eva)
    kept = attach(eva, other, file_name="sama hakemus.pdf")  # the same file, another proposal
    assert kept.sha256 == removed.sha256
    commands.remove_attachment(eva, as_("prep"), RemoveAttachment(attachment_id=removed.id))
    assert store.blob_path(store_dir, kept.sha256).read_bytes() == PDF
    assert queries.download(eva, as_("prep"), kept.id).content == PDF
    assert queries.attachments(eva, as_("prep"), pid).attachments == []
    events = [
        e for e in trail.proposal_history(eva, as_("aud"), pid) if e.action == "attachment.remove"
    ]
    assert [(e.actor, (e.after or {}).get("removed")) for e in events] == [("prep", True)]
    with pytest.raises(NotFound):  # removed once: not again
        commands.remove_attachment(eva, as_("prep"), RemoveAttachment(attachment_id=removed.id))
    with pytest.raises(NotFound):
        queries.removal(eva, as_("prep"), removed.id)


def test_an_area_page_removes_evidence_after_asking_first(
    eva: Eva, world: World, store_dir: Path, app: Flask
) -> None:
    pid = new_proposal(eva)
    area = editor.area_matrix(eva, as_("prep"), pid, None).areas[0].id
    made = attach(eva, pid, file_name="Melutaso.pdf", area=area)
    client = app.test_client()
    login(client, "prep")
    page = client.get(f"/proposals/{pid}/areas/{area}").get_data(as_text=True)
    evidence = page.split('id="evidence-heading"', 1)[1]
    ask = f"/proposals/attachments/{made.id}/remove"
    assert f'href="{ask}"' in evidence  # a link to the question, no form that removes at once
    asked = client.get(ask)
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert "Poistetaanko liite?" in html
    assert "Melutaso.pdf" in html
    assert "PDF-asiakirja" in html
    assert f'<form method="post" action="{ask}">' in html
    assert 'name="csrf_token"' in html
    assert f'href="/proposals/{pid}/areas/{area}#evidence-heading"' in html  # cancel
    assert queries.attachments(eva, as_("prep"), pid).attachments  # asking removed nothing
    done = client.post(ask, data={"csrf_token": csrf(html)})
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/proposals/{pid}/areas/{area}#evidence-heading")
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Liite Melutaso.pdf poistettiin." in after
    assert "Melutaso.pdf" not in after.split('id="evidence-heading"', 1)[1]
    assert queries.attachments(eva, as_("prep"), pid).attachments == []
    assert "attachment.remove" in [e.action for e in trail.proposal_history(eva, as_("aud"), pid)]
    assert client.post(ask, data={}).status_code == 400  # without the CSRF token


def test_only_an_editor_of_the_proposal_is_asked(
    eva: Eva, world: World, store_dir: Path, app: Flask
) -> None:
    pid = new_proposal(eva)
    made = attach(eva, pid)
    ask = f"/proposals/attachments/{made.id}/remove"
    auditor = app.test_client()
    login(auditor, "aud")
    assert auditor.get(ask).status_code == 403
    assert f'href="{ask}"' not in auditor.get(f"/proposals/{pid}").get_data(as_text=True)
    outsider = app.test_client()
    login(outsider, "outsider")
    assert outsider.get(ask).status_code == 404
    with pytest.raises(PermissionDenied):
        queries.removal(eva, as_("sec"), made.id)
    preparer = app.test_client()
    login(preparer, "prep")
    shown = preparer.get(f"/proposals/{pid}").get_data(as_text=True)
    listed = shown.split('id="attachments-heading"', 1)[1]
    assert f'href="{ask}"' in listed
    assert "PDF-asiakirja" in listed
    asked = preparer.get(ask).get_data(as_text=True)
    assert f'href="/proposals/{pid}#attachments-heading"' in asked  # cancel: the proposal's
    assert queries.removal(eva, as_("prep"), made.id).attachment.file_name == "hakemus.pdf"

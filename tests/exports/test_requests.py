"""An access or portability request is answered with an export the requester downloads from the request."""

from __future__ import annotations

import json

from sqlalchemy import event

from tests.conftest import run_worker_tasks
from tests.exports.conftest import checked_files, download, export_id_from, prepare, signed_in
from tests.requests.test_attachments import PDF, upload
from tests.requests.conftest import file_request, load, outbox, post_form, request_id_from
from trustcenter.exports.service import export_for_request
from trustcenter.extensions import db
from trustcenter.registry import WORKER_TASKS, registry


def test_staff_answer_an_access_request_with_the_requesters_export(app, people):
    member = people["a_member"]
    customer = signed_in(app, member)
    request_id = request_id_from(file_request(customer, "portability", {"note": "JSON please"}))
    staff = signed_in(app, people["staff"])
    page = f"/staff/requests/{request_id}"
    assert "Prepare the requester" in staff.get(page).get_data(as_text=True)
    post_form(staff, page, f"{page}/fulfil/export", {"person": member.user_id})
    assert load(app, request_id).state == "submitted"  # not before the export exists
    run_worker_tasks(app)
    done = load(app, request_id)
    assert done.state == "completed" and "download the export from this page" in done.outcome
    assert any(m.recipient == member.email and "completed" in m.subject for m in outbox(app))
    shown = customer.get(f"/account/requests/{request_id}").get_data(as_text=True)
    assert "Download your export" in shown
    with app.app_context():
        export_id = export_for_request(db.session(), request_id).id
    data = json.loads(checked_files(download(customer, export_id))["data.json"])
    assert data["people"][0]["profile"]["email"] == member.email
    assert data["people"][0]["requests"][0]["answers"] == {"Anything we should know": "JSON please"}
    # Staff prepare it; only the requester downloads it.
    assert staff.get(f"/account/exports/{export_id}/download").status_code == 404


def test_an_export_answers_only_access_and_portability(app, people):
    member = people["a_member"]
    request_id = request_id_from(file_request(signed_in(app, member), "query", {"question": "Q"}))
    staff = signed_in(app, people["staff"])
    page = f"/staff/requests/{request_id}"
    post_form(staff, page, f"{page}/fulfil/export", {"person": member.user_id})
    with app.app_context():
        assert export_for_request(db.session(), request_id) is None


def test_an_export_holds_the_thread_as_the_requester_saw_it_and_only_the_files_names(app, people):
    member = people["a_member"]
    customer = signed_in(app, member)
    staff_client = signed_in(app, people["staff"])
    request_id = request_id_from(file_request(customer, "query", {"question": "Where is my data?"}))
    page = f"/account/requests/{request_id}"
    upload(customer, page, f"{page}/reply", PDF, "my-letter.pdf", "My letter attached")
    staff_page = f"/staff/requests/{request_id}"
    post_form(staff_client, staff_page, f"{staff_page}/message", {"body": "We are looking into it"})
    post_form(staff_client, staff_page, f"{staff_page}/message", {"body": "STAFF ONLY NOTE", "internal": "y"})
    export_id = export_id_from(prepare(customer))
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001 (event signature)
        statements.append(statement)

    # The export's own work only: the worker's other tasks (the evidence checks' scan of every sealed column)
    # read other tables for their own reasons.
    [build] = [task for name, task in registry(app, WORKER_TASKS).items() if name == "exports"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        while build():
            pass
    finally:
        event.remove(engine, "before_cursor_execute", record)
    data = json.loads(checked_files(download(customer, export_id))["data.json"])
    [request] = data["people"][0]["requests"]
    texts = [message["text"] for message in request["messages"]]
    assert "My letter attached" in texts and "We are looking into it" in texts
    assert "STAFF ONLY NOTE" not in json.dumps(data)
    [letter] = [m for m in request["messages"] if m["text"] == "My letter attached"]
    assert letter["attachments"] == ["my-letter.pdf"] and letter["from"] == "requester"
    assert [s for s in statements if "request_attachments.content" in s] == []  # names only, never the files

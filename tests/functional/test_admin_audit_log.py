"""The audit log page: filters from the query string, readable details, read only."""

from __future__ import annotations

import re
from html import unescape

from store.accounts.models import Role


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def rows_of(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return [text_of(row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_log_filters_by_actor_action_and_subject_and_shows_changes_readably(
    app, admin, desk
):
    pedro = desk.hire("pedro@example.com", Role.CUSTOMER)
    admin.client.post(f"/admin/usuarios/{pedro}/rol",
                      data={"role-role": "support", "role-reason": "Joins support"})
    admin.client.post(f"/admin/usuarios/{pedro}/desactivar", data={"status-reason": "Left"})

    everything = rows_of(admin.page("/admin/auditoria"))
    role_changes = rows_of(admin.page("/admin/auditoria?action=user.role_changed"))
    by_prefix = rows_of(admin.page("/admin/auditoria?action=user.&actor=ADMIN@example.com"))
    by_subject = rows_of(admin.page(
        f"/admin/auditoria?subject_type=user_account&subject_id={pedro}"))
    nobody = rows_of(admin.page("/admin/auditoria?actor=nadie@example.com"))

    assert len(everything) == 3  # the admin's enrolment, the role change, the disabling
    assert "user.disabled" in everything[0] and "user.role_changed" in everything[1]
    assert len(role_changes) == 1 and "role: customer → support" in role_changes[0]
    assert "Joins support" in role_changes[0]
    assert len(by_prefix) == len(by_subject) == 2 and nobody == []


def test_bad_filters_are_field_errors_in_spanish_and_the_page_still_opens(admin):
    response = admin.client.get(
        "/admin/auditoria?subject_id=-3&since=ayer&until=2026-13-40&actor=" + "a" * 300)

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    errors = [unescape(m) for m in re.findall(r'<p class="field-error">(.*?)</p>', html)]
    assert "Escribe un número del 1 al 2147483647." in errors
    assert len(errors) == 4


def test_an_end_date_before_the_start_date_is_refused(admin):
    response = admin.client.get("/admin/auditoria?since=2026-11-20&until=2026-11-01")

    assert response.status_code == 400
    assert "La fecha final es anterior a la inicial." in response.get_data(as_text=True)


def test_the_log_has_no_route_that_changes_it(app):
    routes = {(rule.rule, method) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/admin/auditoria")
              for method in rule.methods - {"HEAD", "OPTIONS"}}

    assert routes == {("/admin/auditoria", "GET")}


def test_a_date_out_of_any_range_is_a_field_error_not_a_crash(admin):
    response = admin.client.get("/admin/auditoria?until=9999-12-31")

    assert response.status_code == 400
    assert "Escribe una fecha de 2000 a 2999." in response.get_data(as_text=True)

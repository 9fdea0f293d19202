"""Administration of the catalogs and of the staff accounts, and the audit log page, on
both databases: who may change what, what a change does to open tokens and to
bookings, the audit lines it leaves, and the pages that do the same with forms."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from app.accounts.models import Agent
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.config import Settings
from app.db import Database
from tests.conftest import STAFF_PASSWORD, Clock, Staff, make_settings

NEW_PASSWORD = "un nouveau mot de passe bien long"
CLIENT = AsyncTestClient[object]


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The tests log many agents in from the one test address."""
    return make_settings(database_url, login_attempts_per_minute=1000)


@pytest.fixture(autouse=True)
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:00")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def agent_id(db: Database, email: str) -> int:
    async with db.session() as session:
        found = await session.scalar(select(Agent.id).where(Agent.email == email))
    assert found is not None
    return found


async def audit_rows(db: Database, prefix: str) -> list[AuditEvent]:
    async with db.session() as session:
        query = select(AuditEvent).where(AuditEvent.action.startswith(prefix))
        return list(await session.scalars(query.order_by(AuditEvent.id)))


def later(clock: Clock, minutes: int = 1) -> None:
    """Tokens count whole seconds: a change must come after the token to end it."""
    assert clock.now is not None
    clock.now += timedelta(minutes=minutes)


NEW_SERVICE = {
    "code": "carte-grise",
    "name": "Certificat d'immatriculation",
    "duration_minutes": 30,
    "station_kind": "double",
    "documents": ["Permis de conduire", "  Justificatif de domicile "],
}


# The catalogs


async def test_an_administrator_adds_changes_and_retires_a_service(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    admin = await staff.headers("admin")
    manager = await staff.headers("manager", "paris-15")

    added = await client.post("/api/v1/admin/services", json=NEW_SERVICE, headers=admin)
    changed = await client.patch(
        "/api/v1/admin/services/carte-grise",
        json={"duration_minutes": 45, "name": "  Carte grise  "},
        headers=admin,
    )
    seen_by_manager = await client.get("/api/v1/admin/services/carte-grise", headers=manager)

    assert added.status_code == 201, added.text
    assert added.json()["documents"] == ["Permis de conduire", "Justificatif de domicile"]
    assert added.json()["active"] is True
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["duration_minutes"]) == ("Carte grise", 45)
    assert seen_by_manager.json()["duration_minutes"] == 45
    public = (await client.get("/api/v1/services")).json()
    assert "carte-grise" in {item["code"] for item in public}

    retired = await client.patch(
        "/api/v1/admin/services/carte-grise", json={"active": False}, headers=admin
    )

    assert retired.json()["active"] is False
    public = (await client.get("/api/v1/services")).json()
    assert "carte-grise" not in {item["code"] for item in public}
    listed = (await client.get("/api/v1/admin/services", headers=manager)).json()
    assert listed[-1]["code"] == "carte-grise"
    assert listed[-1]["active"] is False
    rows = await audit_rows(db, "service.")
    assert [row.action for row in rows] == ["service.created", "service.changed", "service.retired"]
    assert rows[0].target == "service:carte-grise"
    assert rows[0].details == {"duration_minutes": 30, "station_kind": "double"}
    assert rows[1].details["fields"] == ["duration_minutes", "name"]
    assert all(row.agent_id is not None and row.site_id is None for row in rows)


async def test_a_retired_service_has_no_free_slots_but_its_bookings_stay(
    client: CLIENT, staff: Staff
) -> None:
    admin = await staff.headers("admin")
    query = "/api/v1/sites/paris-15/availability?service=caf&from=2026-12-03&to=2026-12-03"
    before = await client.get(query)
    start = before.json()["slots"][0]["start"]
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": start,
            "name": "Ada",
            "phone": "0612345678",
        },
    )

    await client.patch("/api/v1/admin/services/caf", json={"active": False}, headers=admin)
    after = await client.get(query)
    booking = await client.get(f"/api/v1/appointments/{booked.json()['token']}")
    restored = await client.patch(
        "/api/v1/admin/services/caf", json={"active": True}, headers=admin
    )
    again = await client.get(query)

    assert before.status_code == 200
    assert booked.status_code == 201, booked.text
    assert after.status_code == 404
    assert booking.status_code == 200
    assert booking.json()["status"] == "booked"
    assert restored.json()["active"] is True
    assert again.status_code == 200


async def test_only_administrators_change_the_catalog_and_reception_cannot_read_it(
    client: CLIENT, staff: Staff
) -> None:
    manager = await staff.headers("manager", "paris-15")
    reception = await staff.headers("reception", "paris-15")

    created = await client.post("/api/v1/admin/services", json=NEW_SERVICE, headers=manager)
    changed = await client.patch(
        "/api/v1/admin/needs/vue", json={"extra_minutes": 5}, headers=manager
    )
    read = await client.get("/api/v1/admin/needs", headers=reception)
    anonymous = await client.get("/api/v1/admin/needs")

    assert created.status_code == 403
    assert changed.status_code == 403
    assert read.status_code == 403
    assert anonymous.status_code == 401
    assert created.headers["content-type"].startswith("application/problem+json")


async def test_a_need_may_be_told_to_fit_any_station_again(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    admin = await staff.headers("admin")
    need = {"code": "chien-guide", "name": "Je viens avec un chien guide", "extra_minutes": 5}

    added = await client.post(
        "/api/v1/admin/needs", json={**need, "station_kind": "double"}, headers=admin
    )
    untouched = await client.patch(
        "/api/v1/admin/needs/chien-guide", json={"extra_minutes": 10}, headers=admin
    )
    any_station = await client.patch(
        "/api/v1/admin/needs/chien-guide", json={"station_kind": None}, headers=admin
    )

    assert added.status_code == 201, added.text
    assert untouched.json()["station_kind"] == "double"
    assert any_station.json()["station_kind"] is None
    assert "chien-guide" in {item["code"] for item in (await client.get("/api/v1/needs")).json()}
    rows = await audit_rows(db, "need.")
    assert [row.action for row in rows] == ["need.created", "need.changed", "need.changed"]
    assert rows[-1].details["station_kind"] == "any"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({**NEW_SERVICE, "colour": "red"}, "colour"),
        ({**NEW_SERVICE, "duration_minutes": 4}, "duration_minutes"),
        ({**NEW_SERVICE, "duration_minutes": 241}, "duration_minutes"),
        ({**NEW_SERVICE, "code": "Carte Grise"}, "code"),
        ({**NEW_SERVICE, "name": "   "}, "name"),
        ({**NEW_SERVICE, "name": "bell\x07"}, "name"),
        ({**NEW_SERVICE, "station_kind": "triple"}, "station_kind"),
        ({**NEW_SERVICE, "documents": ["x"] * 21}, "documents"),
        ({"code": "x"}, "name"),
    ],
)
async def test_a_bad_service_gets_problem_details_naming_the_field(
    client: CLIENT, staff: Staff, body: dict[str, Any], words: str
) -> None:
    admin = await staff.headers("admin")

    response = await client.post("/api/v1/admin/services", json=body, headers=admin)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.text


async def test_a_taken_code_is_409_and_an_unknown_one_404(client: CLIENT, staff: Staff) -> None:
    admin = await staff.headers("admin")

    taken = await client.post(
        "/api/v1/admin/services", json={**NEW_SERVICE, "code": "caf"}, headers=admin
    )
    unknown = await client.patch(
        "/api/v1/admin/services/nothing-here", json={"active": False}, headers=admin
    )
    bad_need = await client.patch(
        "/api/v1/admin/needs/vue", json={"extra_minutes": 121}, headers=admin
    )

    assert taken.status_code == 409
    assert taken.json()["code"] == "code_taken"
    assert unknown.status_code == 404
    assert bad_need.status_code == 400


# The accounts


async def test_a_manager_creates_accounts_for_their_own_mairie_only(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    manager_email = await staff.agent("manager", "paris-15")
    manager = bearer(await staff.token(manager_email))
    account = {"email": "Nadia.B@Paris.fr", "name": "Nadia B.", "password": NEW_PASSWORD}

    created = await client.post(
        "/api/v1/admin/agents",
        json={**account, "role": "facilitator", "sites": ["paris-15"]},
        headers=manager,
    )
    admin_refused = await client.post(
        "/api/v1/admin/agents",
        json={**account, "email": "x@paris.fr", "role": "admin", "sites": ["paris-15"]},
        headers=manager,
    )
    elsewhere = await client.post(
        "/api/v1/admin/agents",
        json={**account, "email": "y@paris.fr", "role": "reception", "sites": ["paris-20"]},
        headers=manager,
    )
    both = await client.post(
        "/api/v1/admin/agents",
        json={
            **account,
            "email": "z@paris.fr",
            "role": "reception",
            "sites": ["paris-15", "paris-20"],
        },
        headers=manager,
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["email"], body["role"], body["sites"], body["active"]) == (
        "nadia.b@paris.fr",
        "facilitator",
        ["paris-15"],
        True,
    )
    assert "password" not in created.text
    assert "argon2" not in created.text
    assert admin_refused.status_code == 403
    assert elsewhere.status_code == 403
    assert both.status_code == 403
    new_token = await client.post(
        "/api/v1/auth/token", json={"email": "nadia.b@paris.fr", "password": NEW_PASSWORD}
    )
    assert new_token.status_code == 200
    rows = await audit_rows(db, "agent.")
    assert len(rows) == 1
    assert rows[0].action == "agent.created"
    assert rows[0].target == f"agent:{body['id']}"
    assert rows[0].agent_id == await agent_id(db, manager_email)
    assert rows[0].details == {"role": "facilitator", "sites": ["paris-15"]}
    assert "nadia" not in str(rows[0].details).lower()


async def test_a_manager_cannot_touch_an_agent_of_another_mairie_nor_an_administrator(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    manager = await staff.headers("manager", "paris-15")
    stranger = await agent_id(db, await staff.agent("facilitator", "paris-20"))
    boss = await agent_id(db, await staff.agent("admin", "paris-15"))

    for target in (stranger, boss):
        path = f"/api/v1/admin/agents/{target}"
        responses = [
            await client.patch(path, json={"role": "reception"}, headers=manager),
            await client.patch(path, json={"active": False}, headers=manager),
            await client.post(f"{path}/password", json={"password": NEW_PASSWORD}, headers=manager),
            await client.post(f"{path}/unlock", headers=manager),
        ]
        assert [r.status_code for r in responses] == [403, 403, 403, 403], target
    assert (
        await client.get(f"/api/v1/admin/agents/{stranger}", headers=manager)
    ).status_code == 403
    assert await audit_rows(db, "agent.") == []


async def test_managers_of_one_mairie_cannot_disable_or_take_over_each_other(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    """A second manager, appointed by the first, can neither disable the first, nor set
    their password (and log in as them), nor change their name, role or lock; the same the
    other way round. Each still changes their own name, and the administrator both."""
    first_email = await staff.agent("manager", "paris-15")
    first = bearer(await staff.token(first_email))
    first_id = await agent_id(db, first_email)
    appointed = await client.post(
        "/api/v1/admin/agents",
        json={"email": "second.p15@paris.fr", "name": "Second", "password": STAFF_PASSWORD,
              "role": "manager", "sites": ["paris-15"]},
        headers=first,
    )  # fmt: skip
    assert appointed.status_code == 201, appointed.text
    second_id = appointed.json()["id"]
    second = bearer(await staff.token("second.p15@paris.fr"))

    for who, target in ((second, first_id), (first, second_id)):
        path = f"/api/v1/admin/agents/{target}"
        answers = [
            await client.patch(path, json={"active": False}, headers=who),
            await client.post(f"{path}/password", json={"password": NEW_PASSWORD}, headers=who),
            await client.patch(path, json={"name": "Pris"}, headers=who),
            await client.patch(path, json={"role": "reception"}, headers=who),
            await client.post(f"{path}/unlock", headers=who),
        ]
        assert [a.status_code for a in answers] == [403] * 5, target
        assert {a.json()["code"] for a in answers} == {"manager_account"}
    own = await client.patch(
        f"/api/v1/admin/agents/{second_id}", json={"name": "Second B."}, headers=second
    )
    admin = await staff.headers("admin", "paris-15")
    by_admin = await client.patch(
        f"/api/v1/admin/agents/{second_id}", json={"active": False}, headers=admin
    )

    assert (await client.get("/api/v1/admin/agents", headers=first)).status_code == 200
    assert own.status_code == 200, own.text
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["active"] is False


async def test_reception_and_facilitators_have_no_say_over_accounts(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    colleague = await agent_id(db, await staff.agent("facilitator", "paris-15"))
    for role in ("reception", "facilitator"):
        headers = await staff.headers(role, "paris-15")
        listed = await client.get("/api/v1/admin/agents", headers=headers)
        changed = await client.patch(
            f"/api/v1/admin/agents/{colleague}", json={"active": False}, headers=headers
        )
        assert (listed.status_code, changed.status_code) == (403, 403), role


async def test_a_manager_sees_the_agents_of_their_mairies_and_an_administrator_all(
    client: CLIENT, staff: Staff
) -> None:
    manager_email = await staff.agent("manager", "paris-15")
    ours = await staff.agent("reception", "paris-15")
    shared = await staff.agent("facilitator", "paris-15", "paris-20")
    theirs = await staff.agent("reception", "paris-20")
    admin = await staff.headers("admin")
    manager = bearer(await staff.token(manager_email))

    seen = {
        row["email"] for row in (await client.get("/api/v1/admin/agents", headers=manager)).json()
    }
    everyone = {
        row["email"] for row in (await client.get("/api/v1/admin/agents", headers=admin)).json()
    }
    of_20 = await client.get("/api/v1/admin/agents?site=paris-20", headers=admin)
    not_mine = await client.get("/api/v1/admin/agents?site=paris-20", headers=manager)

    assert seen == {manager_email, ours, shared}
    assert {manager_email, ours, shared, theirs} <= everyone
    assert {row["email"] for row in of_20.json()} == {shared, theirs}
    assert not_mine.status_code == 403


async def test_a_disabled_agent_is_refused_at_once_and_must_log_in_again_once_enabled(
    client: CLIENT, staff: Staff, db: Database, clock: Clock
) -> None:
    manager = await staff.headers("manager", "paris-15")
    email = await staff.agent("reception", "paris-15")
    token = await staff.token(email)
    target = await agent_id(db, email)
    later(clock)

    disabled = await client.patch(
        f"/api/v1/admin/agents/{target}", json={"active": False}, headers=manager
    )
    refused = await client.get("/api/v1/auth/me", headers=bearer(token))
    login = await client.post(
        "/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD}
    )
    enabled = await client.patch(
        f"/api/v1/admin/agents/{target}", json={"active": True}, headers=manager
    )
    old_token = await client.get("/api/v1/auth/me", headers=bearer(token))
    later(clock)
    new_token = await client.get("/api/v1/auth/me", headers=bearer(await staff.token(email)))

    assert disabled.status_code == 200
    assert disabled.json()["active"] is False
    assert refused.status_code == 401
    assert login.status_code == 401
    assert enabled.json()["active"] is True
    assert old_token.status_code == 401
    assert new_token.status_code == 200
    rows = await audit_rows(db, "agent.")
    assert [row.action for row in rows] == ["agent.disabled", "agent.enabled"]
    assert {row.target for row in rows} == {f"agent:{target}"}


async def test_a_password_reset_ends_old_tokens_and_unlocks_the_account(
    client: CLIENT, staff: Staff, db: Database, clock: Clock
) -> None:
    manager = await staff.headers("manager", "paris-15")
    email = await staff.agent("facilitator", "paris-15")
    token = await staff.token(email)
    target = await agent_id(db, email)
    assert clock.now is not None
    async with db.writing() as session:
        await session.execute(
            update(Agent)
            .where(Agent.id == target)
            .values(failed_logins=12, locked_until=clock.now + timedelta(hours=1))
        )
    listed = await client.get(f"/api/v1/admin/agents/{target}", headers=manager)
    later(clock)

    weak = await client.post(
        f"/api/v1/admin/agents/{target}/password", json={"password": "short"}, headers=manager
    )
    reset = await client.post(
        f"/api/v1/admin/agents/{target}/password", json={"password": NEW_PASSWORD}, headers=manager
    )
    old_token = await client.get("/api/v1/auth/me", headers=bearer(token))
    old_password = await client.post(
        "/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD}
    )
    later(clock)
    new_password = await client.post(
        "/api/v1/auth/token", json={"email": email, "password": NEW_PASSWORD}
    )

    assert listed.json()["failed_logins"] == 12
    assert listed.json()["locked_until"] is not None
    assert weak.status_code == 400
    assert "at least 12 characters" in weak.json()["detail"]
    assert reset.status_code == 200, reset.text
    assert (reset.json()["failed_logins"], reset.json()["locked_until"]) == (0, None)
    assert old_token.status_code == 401
    assert old_password.status_code == 401
    assert new_password.status_code == 200
    rows = await audit_rows(db, "agent.")
    assert [row.action for row in rows] == ["agent.password_reset"]
    assert NEW_PASSWORD not in str(rows[0].details)


async def test_unlocking_lets_a_slowed_down_agent_log_in_again(
    client: CLIENT, staff: Staff, db: Database, clock: Clock
) -> None:
    admin = await staff.headers("admin")
    email = await staff.agent("reception", "paris-20")
    target = await agent_id(db, email)
    for _ in range(10):  # a forgotten password, at the agent's own desk
        await client.post("/api/v1/auth/token", json={"email": email, "password": "not it"})
    locked = await client.post(
        "/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD}
    )

    unlocked = await client.post(f"/api/v1/admin/agents/{target}/unlock", headers=admin)
    login = await client.post(
        "/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD}
    )

    assert locked.status_code == 429
    assert unlocked.status_code == 200
    assert login.status_code == 200
    rows = await audit_rows(db, "agent.")
    assert rows[0].action == "agent.unlocked"
    assert rows[0].details == {"failures": 10}
    assert rows[0].site_id is not None


async def test_a_change_of_role_or_mairies_ends_the_agents_sessions(
    client: CLIENT, staff: Staff, db: Database, clock: Clock
) -> None:
    manager = await staff.headers("manager", "paris-15", "paris-16")
    email = await staff.agent("reception", "paris-15")
    target = await agent_id(db, email)
    token = await staff.token(email)
    later(clock)

    promoted = await client.patch(
        f"/api/v1/admin/agents/{target}",
        json={"role": "facilitator", "sites": ["paris-15", "paris-16"], "name": "Léa"},
        headers=manager,
    )
    old_token = await client.get("/api/v1/auth/me", headers=bearer(token))
    later(clock)
    fresh = bearer(await staff.token(email))
    renamed = await client.patch(
        f"/api/v1/admin/agents/{target}", json={"name": "Léa M."}, headers=manager
    )
    still = await client.get("/api/v1/auth/me", headers=fresh)

    assert promoted.status_code == 200, promoted.text
    assert (promoted.json()["role"], promoted.json()["sites"]) == (
        "facilitator",
        ["paris-15", "paris-16"],
    )
    assert old_token.status_code == 401
    assert renamed.json()["name"] == "Léa M."
    assert still.status_code == 200
    # Each change is in the log of both mairies the agent now works at.
    rows = await audit_rows(db, "agent.")
    assert [row.action for row in rows[::2]] == [
        "agent.renamed",
        "agent.role_changed",
        "agent.sites_changed",
        "agent.renamed",
    ]
    assert [row.action for row in rows[1::2]] == [row.action for row in rows[::2]]
    assert len({row.site_id for row in rows}) == 2
    assert rows[2].details == {"role": "facilitator", "previous": "reception"}
    assert rows[4].details == {"sites": ["paris-15", "paris-16"], "previous": ["paris-15"]}


async def test_a_manager_keeps_their_own_role_and_another_mairie_s_sites(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    manager_email = await staff.agent("manager", "paris-15")
    manager = bearer(await staff.token(manager_email))
    me = await agent_id(db, manager_email)
    shared = await agent_id(db, await staff.agent("facilitator", "paris-15", "paris-20"))

    own_role = await client.patch(
        f"/api/v1/admin/agents/{me}", json={"role": "facilitator"}, headers=manager
    )
    own_account = await client.patch(
        f"/api/v1/admin/agents/{me}", json={"active": False}, headers=manager
    )
    drop_20 = await client.patch(
        f"/api/v1/admin/agents/{shared}", json={"sites": ["paris-15"]}, headers=manager
    )
    make_admin = await client.patch(
        f"/api/v1/admin/agents/{shared}", json={"role": "admin"}, headers=manager
    )
    no_site = await client.patch(
        f"/api/v1/admin/agents/{shared}", json={"sites": []}, headers=manager
    )

    assert own_role.status_code == 403
    assert own_role.json()["code"] == "own_role"
    assert own_account.status_code == 403
    assert drop_20.status_code == 403
    assert drop_20.json()["code"] == "shared_agent"  # paris-20's: an administrator's to change
    assert make_admin.status_code == 403
    assert no_site.status_code == 403
    assert await audit_rows(db, "agent.") == []


ACCOUNT = {
    "email": "a@paris.fr",
    "name": "A",
    "role": "reception",
    "password": NEW_PASSWORD,
    "sites": ["paris-15"],
}


@pytest.mark.parametrize(
    "change",
    [
        {"role": "boss"},
        {"password": "x" * 20},
        {"email": "not an address"},
        {"sites": ["paris-99"]},
        {"sites": []},
        {"admin": True},
        {"password": None},
        {"name": ""},
        {"name": "tab\tin a name"},
    ],
)
async def test_a_bad_account_gets_problem_details(
    client: CLIENT, staff: Staff, change: dict[str, Any]
) -> None:
    admin = await staff.headers("admin")
    body = {key: value for key, value in {**ACCOUNT, **change}.items() if value is not None}

    response = await client.post("/api/v1/admin/agents", json=body, headers=admin)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"]


async def test_an_address_already_used_is_409(client: CLIENT, staff: Staff) -> None:
    admin = await staff.headers("admin")
    taken = await staff.agent("reception", "paris-15")

    response = await client.post(
        "/api/v1/admin/agents",
        json={"email": taken.upper(), "name": "Twin", "role": "reception",
              "password": NEW_PASSWORD, "sites": ["paris-15"]},
        headers=admin,
    )  # fmt: skip

    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"


async def test_unknown_agents_and_bad_ids_are_404_and_400(client: CLIENT, staff: Staff) -> None:
    admin = await staff.headers("admin")

    missing = await client.patch("/api/v1/admin/agents/999999", json={"name": "X"}, headers=admin)
    huge = await client.get(f"/api/v1/admin/agents/{2**40}", headers=admin)
    not_json = await client.patch(
        "/api/v1/admin/agents/1",
        content=b"{",
        headers={**admin, "content-type": "application/json"},
    )

    assert missing.status_code == 404
    assert huge.status_code == 400
    assert not_json.status_code == 400


# The pages


async def log_in(client: CLIENT, email: str) -> None:
    response = await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


async def test_a_manager_creates_an_account_from_the_page_and_reads_plain_errors(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    await log_in(client, await staff.agent("manager", "paris-15"))
    page = await client.get("/admin/agents")
    csrf = csrf_of(page.text)

    wrong = await client.post(
        "/admin/agents",
        data={"csrf": csrf, "name": "", "email": "nadia", "role": "admin", "password": "court"},
    )
    right = await client.post(
        "/admin/agents",
        data={
            "csrf": csrf,
            "name": "Nadia B.",
            "email": "nadia@paris.fr",
            "role": "facilitator",
            "sites": ["paris-15", "paris-20"],
            "password": NEW_PASSWORD,
        },
        follow_redirects=False,
    )

    assert page.status_code == 200
    assert 'aria-current="page"' in page.text
    assert "Administration de la Ville" not in page.text  # a manager cannot give that role
    assert wrong.status_code == 400
    assert "Il y a 4 erreurs" in wrong.text
    assert 'aria-describedby="password-aide password-erreur"' in wrong.text
    assert 'id="email-erreur"' in wrong.text
    assert "Choisissez un rôle." in wrong.text
    assert right.status_code == 303, right.text
    created = await agent_id(db, "nadia@paris.fr")
    assert right.headers["location"] == f"/admin/agents/{created}?fait=agent_cree"
    shown = await client.get(right.headers["location"])
    assert "Le compte a été créé." in shown.text
    # paris-20 was not the manager's to give: it was left out.
    account = (await client.get(f"/api/v1/admin/agents/{created}")).json()
    assert account["sites"] == ["paris-15"]


async def test_the_account_page_disables_resets_and_refuses_a_weak_password(
    client: CLIENT, staff: Staff, db: Database, clock: Clock
) -> None:
    await log_in(client, await staff.agent("manager", "paris-15"))
    email = await staff.agent("reception", "paris-15")
    target = await agent_id(db, email)
    page = await client.get(f"/admin/agents/{target}")
    csrf = csrf_of(page.text)
    later(clock)

    weak = await client.post(
        f"/admin/agents/{target}/mot-de-passe", data={"csrf": csrf, "password": "aaaa"}
    )
    reset = await client.post(
        f"/admin/agents/{target}/mot-de-passe",
        data={"csrf": csrf, "password": NEW_PASSWORD},
        follow_redirects=False,
    )
    disabled = await client.post(
        f"/admin/agents/{target}/activation",
        data={"csrf": csrf, "active": "non"},
        follow_redirects=False,
    )
    without_csrf = await client.post(f"/admin/agents/{target}/activation", data={"active": "oui"})

    assert page.status_code == 200
    assert "Désactiver le compte" in page.text
    assert weak.status_code == 400
    assert 'id="password-erreur"' in weak.text
    assert reset.status_code == 303
    assert disabled.headers["location"].endswith("fait=agent_desactive")
    assert without_csrf.status_code == 403
    async with db.session() as session:
        account = await session.get_one(Agent, target)
    assert account.active is False
    assert [row.action for row in await audit_rows(db, "agent.")] == [
        "agent.password_reset",
        "agent.disabled",
    ]


async def test_the_catalog_page_lets_an_administrator_add_and_retire_a_service(
    client: CLIENT, staff: Staff
) -> None:
    await log_in(client, await staff.agent("admin"))
    page = await client.get("/admin/catalogue")
    form = await client.get("/admin/catalogue/demarches/nouvelle")
    csrf = csrf_of(form.text)

    wrong = await client.post(
        "/admin/catalogue/demarches",
        data={"csrf": csrf, "code": "Carte Grise", "name": "", "duration_minutes": "999",
              "station_kind": "standard"},
    )  # fmt: skip
    taken = await client.post(
        "/admin/catalogue/demarches",
        data={"csrf": csrf, "code": "caf", "name": "CAF bis", "duration_minutes": "20",
              "station_kind": "standard"},
    )  # fmt: skip
    bell = await client.post(
        "/admin/catalogue/demarches",
        data={"csrf": csrf, "code": "bell", "name": "Bell", "duration_minutes": "20",
              "station_kind": "standard", "description": "ding\x07"},
    )  # fmt: skip
    added = await client.post(
        "/admin/catalogue/demarches",
        data={"csrf": csrf, "code": "carte-grise", "name": "Carte grise", "duration_minutes": "30",
              "station_kind": "double", "documents": "Permis\n\nJustificatif de domicile\n"},
        follow_redirects=False,
    )  # fmt: skip
    retired = await client.post(
        "/admin/catalogue/demarches/carte-grise",
        data={"csrf": csrf, "active": "non"},
        follow_redirects=False,
    )
    listing = await client.get("/admin/catalogue?fait=retire")

    assert page.status_code == 200
    assert "Ajouter une démarche" in page.text
    assert wrong.status_code == 400
    assert "Il y a 3 erreurs" in wrong.text
    assert "Durée : indiquez un nombre entier de 5 à 240." in wrong.text
    assert taken.status_code == 400
    assert "Ce code est déjà pris" in taken.text
    assert bell.status_code == 400
    assert 'aria-describedby="description-erreur"' in bell.text
    assert added.status_code == 303
    assert retired.headers["location"] == "/admin/catalogue?fait=retire"
    assert "Retirée" in listing.text
    service = (await client.get("/api/v1/admin/services/carte-grise")).json()
    assert service["documents"] == ["Permis", "Justificatif de domicile"]
    assert service["active"] is False


async def test_a_manager_reads_the_catalog_page_without_forms(client: CLIENT, staff: Staff) -> None:
    await log_in(client, await staff.agent("manager", "paris-15"))

    page = await client.get("/admin/catalogue")
    form = await client.get("/admin/catalogue/demarches/caf")

    assert page.status_code == 200
    assert "Ajouter une démarche" not in page.text
    assert "Démarches CAF en ligne" in page.text
    assert form.status_code == 403


async def test_the_journal_lists_changes_with_filters_and_hides_other_mairies(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    admin = await staff.headers("admin")
    in_15 = await agent_id(db, await staff.agent("reception", "paris-15"))
    in_20 = await agent_id(db, await staff.agent("reception", "paris-20"))
    await client.patch(f"/api/v1/admin/agents/{in_15}", json={"active": False}, headers=admin)
    await client.patch(f"/api/v1/admin/agents/{in_20}", json={"active": False}, headers=admin)
    await client.post("/api/v1/admin/services", json=NEW_SERVICE, headers=admin)

    await log_in(client, await staff.agent("manager", "paris-15"))
    mine = await client.get("/admin/journal")
    only_agents = await client.get("/admin/journal?action=agent.")
    other_site = await client.get("/admin/journal?mairie=paris-20")
    bad_day = await client.get("/admin/journal?du=tomorrow")

    assert mine.status_code == 200
    assert "a désactivé le compte de reception 2" in html.unescape(mine.text)
    assert "reception 3" not in mine.text
    assert "a ajouté la démarche" not in mine.text  # the City's catalog, not the mairie's
    assert "a ouvert une session" in mine.text  # the manager's own login
    assert '<td data-label="Mairie">Mairie du 15e arrondissement</td>' in mine.text
    assert "a ouvert une session" not in only_agents.text
    assert "a désactivé le compte de reception 2" in html.unescape(only_agents.text)
    assert other_site.status_code == 403
    assert bad_day.status_code == 400
    assert 'id="du-erreur"' in bad_day.text


async def test_the_administrator_s_journal_pages_back_through_older_events(
    client: CLIENT, staff: Staff, db: Database, clock: Clock
) -> None:
    assert clock.now is not None
    async with db.writing() as session:
        for minute in range(60):
            at = clock.now - timedelta(minutes=minute)
            audit.record(session, "auth.login_failed", at=at, agent_id=None, via="api")
    await log_in(client, await staff.agent("admin"))

    first = await client.get("/admin/journal?action=auth.")
    older = re.search(r'href="(/admin/journal\?[^"]*avant=\d+)"', first.text)
    assert older, "no link to older events"
    second = await client.get(older.group(1).replace("&amp;", "&"))
    by_site = await client.get("/admin/journal?mairie=paris-20")

    assert first.status_code == 200
    assert first.text.count("<tr>") == 51  # the head and a page of 50
    assert "a essayé de se connecter avec une adresse inconnue" in first.text
    assert second.status_code == 200
    assert "Revenir aux plus récentes" in second.text
    assert second.text.count("<tr>") == 1 + 11  # the 60 failures and the login, 50 a page
    assert by_site.status_code == 200


async def test_a_password_too_short_from_the_agents_page_says_how_long_it_must_be(
    client: AsyncTestClient[object], staff: Staff, db: Database
) -> None:
    from tests.integration.test_staff_pages import console, csrf_of

    colleague = await staff.agent("reception", "paris-15")
    async with db.session() as session:
        colleague_id = await session.scalar(select(Agent.id).where(Agent.email == colleague))
    page = await console(client, staff, "manager", f"/admin/agents/{colleague_id}")
    refused = await client.post(
        f"/admin/agents/{colleague_id}/mot-de-passe",
        data={"password": "court", "csrf": csrf_of(page)},
    )

    assert refused.status_code == 400
    assert "au moins 12 caractères" in refused.text
    assert "%(" not in refused.text

"""infra/management-api-roles.json (the app roles `az ad app create --app-roles` declares, see
docs/deployment.md#management-api-callers) against the roles the app checks."""

from __future__ import annotations

import json
import uuid

from callcontrol.domain.access import Role
from tests.unit.infra.bicep_model import INFRA_DIR, REPO_ROOT

ROLES = json.loads((INFRA_DIR / "management-api-roles.json").read_text())


def test_the_registration_declares_exactly_the_roles_the_app_checks() -> None:
    assert sorted(r["value"] for r in ROLES) == sorted(role.value for role in Role)


def test_each_role_has_a_stable_unique_id_and_is_grantable_to_a_managed_identity() -> None:
    ids = [uuid.UUID(r["id"]) for r in ROLES]
    assert len(set(ids)) == len(ids)
    for role in ROLES:
        assert "Application" in role["allowedMemberTypes"], role["value"]  # managed identities
        assert role["isEnabled"] and role["description"]


def test_the_deployment_page_uses_the_file_and_each_setting() -> None:
    page = (REPO_ROOT / "docs" / "deployment.md").read_text()
    for needle in ("infra/management-api-roles.json", "appRoleAssignedTo", "MANAGEMENT_AUTH",
                   "MANAGEMENT_API_AUDIENCES", "/.default"):
        assert needle in page, needle

"""Where the listing's secret comes from (issue 24, 25/5): the setting, the storage account key,
or, with neither (identity-based storage), one made once and kept in the store for everyone."""

from __future__ import annotations

import pytest

from callcontrol.adapters.store.backend import TableBackend
from callcontrol.adapters.store.listing_secret import ListingKeys
from callcontrol.domain.errors import SettingError
from callcontrol.settings import load_settings

AZURITE_LIKE = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                "AccountKey=Zm9vYmFyYmF6cXV4;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;")


def test_the_setting_wins_and_a_short_one_is_refused_by_name() -> None:
    long_key = "k" * 40
    assert load_settings({"LISTING_KEY": long_key}).listing_key == load_settings(
        {"LISTING_KEY": long_key, "CallStateStorage": AZURITE_LIKE}).listing_key
    with pytest.raises(SettingError, match="LISTING_KEY") as refused:
        _ = load_settings({"LISTING_KEY": "short"}).listing_key
    assert "short" not in str(refused.value)  # a secret is never echoed


def test_without_the_setting_it_is_derived_from_the_account_key_or_absent() -> None:
    derived = load_settings({"CallStateStorage": AZURITE_LIKE}).listing_key
    assert derived is not None and b"Zm9vYmFyYmF6cXV4" not in derived
    assert derived != load_settings({"LISTING_KEY": "Zm9vYmFyYmF6cXV4" * 3}).listing_key
    assert load_settings({"CallStateStorage__tableServiceUri": "https://x.table.core.windows.net",
                          "CallStateStorage__credential": "managedidentity"}).listing_key is None


async def test_a_kept_secret_is_made_once_and_shared_by_every_instance(
    backend: TableBackend,
) -> None:
    first, second = ListingKeys(backend=backend), ListingKeys(backend=backend)
    one, other = await first.secret(), await second.secret()
    assert one.number_digest("+14255550123") == other.number_digest("+14255550123")
    assert other.signed("payload", one.sign("payload"))
    assert await first.secret() is one  # read once per process

from airflow_provider_wdt import __version__
from airflow_provider_wdt.connection_fields import CONN_TYPE, HOOK_NAME, conn_fields, ui_field_behaviour

# Kept by hand in the shape of the official providers' generated file; the connection form is built from
# connection_fields (the one definition of the fields). Tests check that every module listed here imports.


def get_provider_info():  # type: ignore[no-untyped-def]
    return {
        "package-name": "airflow-provider-wdt",
        "name": HOOK_NAME,
        "description": "Signed calls to the WDT (旺店通) ERP 旗舰版 open API and the stock-sync workflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": HOOK_NAME,
                "external-doc-url": "https://open.wangdian.cn/qjb/open/apidoc",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": HOOK_NAME,
                "python-modules": ["airflow_provider_wdt.hooks.wdt"],
            }
        ],
        "operators": [
            {
                "integration-name": HOOK_NAME,
                "python-modules": ["airflow_provider_wdt.operators.wdt"],
            }
        ],
        "sensors": [
            {
                "integration-name": HOOK_NAME,
                "python-modules": ["airflow_provider_wdt.sensors.wdt"],
            }
        ],
        "triggers": [
            {
                "integration-name": HOOK_NAME,
                # pending_sync_event needs Airflow 3.0+; triggers.wdt re-exports it and imports on 2.11.
                "python-modules": ["airflow_provider_wdt.triggers.wdt"],
            }
        ],
        # Airflow 3: wdt://<sid>/pending-sync assets (assets.pending_sync_asset) checked by our normalizer.
        "asset-uris": [{"schemes": ["wdt"], "handler": "airflow_provider_wdt.assets.sanitize_uri"}],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_wdt.hooks.wdt.WdtHook",
                "hook-name": HOOK_NAME,
                "connection-type": CONN_TYPE,
                # Both come from connection_fields, as do the Airflow 2.11 widgets and the hook's parsing.
                "ui-field-behaviour": ui_field_behaviour(),
                "conn-fields": conn_fields(),
            }
        ],
    }

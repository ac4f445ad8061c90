from airflow_provider_wdt import __version__

# Kept by hand in the shape of the official providers' generated file; tests check that it agrees with
# the hook's connection form and that every module listed here imports.


def get_provider_info():  # type: ignore[no-untyped-def]
    return {
        "package-name": "airflow-provider-wdt",
        "name": "WDT 旺店通 ERP (qjb)",
        "description": "Signed calls to the WDT (旺店通) ERP 旗舰版 open API and the stock-sync workflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "WDT 旺店通 ERP (qjb)",
                "external-doc-url": "https://open.wangdian.cn/qjb/open/apidoc",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "WDT 旺店通 ERP (qjb)",
                "python-modules": ["airflow_provider_wdt.hooks.wdt"],
            }
        ],
        "operators": [
            {
                "integration-name": "WDT 旺店通 ERP (qjb)",
                "python-modules": ["airflow_provider_wdt.operators.wdt"],
            }
        ],
        "sensors": [
            {
                "integration-name": "WDT 旺店通 ERP (qjb)",
                "python-modules": ["airflow_provider_wdt.sensors.wdt"],
            }
        ],
        "triggers": [
            {
                "integration-name": "WDT 旺店通 ERP (qjb)",
                "python-modules": ["airflow_provider_wdt.triggers.wdt"],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_wdt.hooks.wdt.WdtHook",
                "hook-name": "WDT 旺店通 ERP (qjb)",
                "connection-type": "wdt",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {
                        "host": "Endpoint URL",
                        "login": "Seller account (卖家账号 sid)",
                        "password": "App secret (appsecret, secret:salt)",
                    },
                    "placeholders": {
                        "host": "http://wdt.wangdian.cn/openapi (empty = production)",
                        "login": "sid assigned by WDT",
                        "password": "secret:salt",
                        "appkey": "appkey assigned by WDT",
                    },
                },
                "conn-fields": {
                    "appkey": {
                        "label": "App key (接口账号 appkey)",
                        "description": "The appkey WDT assigned to your app (接口账号).",
                        "schema": {"type": ["string", "null"]},
                    },
                    "timeout": {
                        "label": "Timeout per request, seconds",
                        "description": "Seconds to wait for one answer before retrying (default 30).",
                        "schema": {"type": ["number", "null"], "default": 30, "minimum": 0.001},
                    },
                    "max_retries": {
                        "label": "Max retries",
                        "description": "Retries for network errors, HTTP 5xx, rate limits, database errors.",
                        "schema": {"type": ["integer", "null"], "default": 3, "minimum": 0},
                    },
                    "retry_wait": {
                        "label": "Retry backoff base, seconds",
                        "description": "First backoff wait, doubled on each retry (default 1).",
                        "schema": {"type": ["number", "null"], "default": 1, "minimum": 0},
                    },
                    "rate_limit_wait": {
                        "label": "Wait after rate limit, seconds",
                        "description": "Seconds to wait after a per-minute limit answer (default 60).",
                        "schema": {"type": ["number", "null"], "default": 60, "minimum": 0},
                    },
                    "multi_seller": {
                        "label": "Multi-seller process (send Connection: close)",
                        "description": "Do not keep connections alive, as WDT advises for several sellers.",
                        "schema": {"type": ["boolean", "null"], "default": False},
                    },
                },
            }
        ],
    }

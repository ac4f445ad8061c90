"""The shop stand-in now lives in the package, beside the simulator: ``airflow_provider_wdt.simulator.shop``
(``python -m airflow_provider_wdt.simulator.shop``), so an installed provider has it too.

This module is kept so that ``python -m example_dags.shop_standin`` and imports from it keep working in a
clone of the repository.
"""

from __future__ import annotations

import sys

from airflow_provider_wdt.simulator.shop import ShopStandin, main, reject_every_seventh

__all__ = ["ShopStandin", "main", "reject_every_seventh"]

if __name__ == "__main__":
    sys.exit(main())

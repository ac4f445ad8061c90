"""Example DAGs for airflow-provider-wdt and ``make demo`` (``run_demo``).

The DAG files are self-contained (Airflow imports them as top-level modules from its DAGs folder):

* ``example_wdt_pull_to_xcom`` - pull every pending rec_id into an XCom and use it downstream.
* ``example_wdt_sensor_to_file`` - wait for pending ids, pull them to this run's file, read it and
  announce it as an Asset event.
* ``example_wdt_stock_sync`` - the complete stock-sync workflow: wait, pull, batchCalcStock, push to
  the shop, report syncSuccess/syncFail.
* ``example_wdt_multi_seller`` - the same pull mapped over several sellers' connections, with a
  manifest built from the pulls' XComs.

``.airflowignore`` keeps the scheduler off the modules that hold no DAG: this one, ``run_demo`` and
``shop_standin`` (an alias of ``airflow_provider_wdt.simulator.shop``, where the stand-in now lives).
"""

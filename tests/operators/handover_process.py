"""``python -m tests.operators.handover_process DAG_ID CONN_JSON CONF_JSON``: one dag.test() run of a DAG
of ``tests.dags.handover_hosts`` in a process of its own (a "host"); prints the task states as JSON."""

from __future__ import annotations

import json
import os
import sys


def main(dag_id: str, conn_json: str, conf_json: str) -> int:
    os.environ["AIRFLOW_CONN_WDT_DEFAULT"] = conn_json
    from tests.dags import handover_hosts
    from tests.helpers import states

    dag = handover_hosts.pull_dag if dag_id == "wdt_handover_pull" else handover_hosts.sync_dag
    dag_run = dag.test(run_conf=json.loads(conf_json))
    print(json.dumps(states(dag_run)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))

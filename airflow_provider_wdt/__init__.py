"""Apache Airflow provider for the WDT (旺店通) ERP 旗舰版 ("qjb") open API."""

__version__ = "0.2.0"

"""Only the project URLs are set here: TOML has no variables, and every URL derives from one repository."""

from setuptools import setup

# Placeholder until the repository has its public home: this one line is all there is to change.
REPOSITORY = "https://github.com/your-org/airflow-provider-wdt"

setup(
    project_urls={
        "Homepage": REPOSITORY,
        "Documentation": f"{REPOSITORY}#readme",
        "Documentation (zh-CN)": f"{REPOSITORY}/blob/main/README.zh-CN.md",
        "Changelog": f"{REPOSITORY}/blob/main/CHANGELOG.md",
        "Issues": f"{REPOSITORY}/issues",
    }
)

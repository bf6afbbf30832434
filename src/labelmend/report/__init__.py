"""Self-contained HTML reports: one page per dataset, simulator study and repair.

Every page is one file that opens offline: charts are inline SVG drawn by matplotlib,
thumbnails are embedded, there is no script. Section builders are pure functions of
result objects; the writers are thin.

>>> from labelmend.report import write_dataset_report  # ``labelmend report``
"""

from labelmend.report.dataset import DatasetReport, dataset_page, gather, write_dataset_report
from labelmend.report.page import Section, render_page, write_page

__all__ = [
    "DatasetReport",
    "Section",
    "dataset_page",
    "gather",
    "render_page",
    "write_dataset_report",
    "write_page",
]

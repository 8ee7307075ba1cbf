"""gkreport: the annual government-information-disclosure report (政府信息公开工作年度报告).

Official Excel templates, declarative rules, validation with in-place marks, and
county consolidation. The pure core (forms, values, engine, locate, findings) never
touches files; adapters (readers, markers, CLI, the xlwings add-in) do.
"""

__version__ = "0.1.0"

"""The template's colours as plain RGB hex, for code that must not import openpyxl.

The ribbon's 校验 marks the open workbook through xlwings; when the engine cannot read a
cell's format it falls back on the look the template gives each data cell. Importing
:mod:`gkreport.output.template_style` for two colours would load openpyxl (~0.1 s of every
click); the fills there are built from these values.
"""

INPUT_RGB = "FFF9E5"  # cells a clerk fills in (浅黄)
TOTAL_RGB = "EAF1FB"  # totals the template computes (浅蓝)

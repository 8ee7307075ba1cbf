"""The pure core: forms and rules as data, values, the report, the engine, localisation, findings.

Nothing here imports a workbook or document library (openpyxl, xlwings, python-calamine,
python-docx, lxml): tests/test_import_contract.py. Adapters around it read and write files.
"""

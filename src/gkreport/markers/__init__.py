"""Checking one file and marking what is wrong in it: the check-and-mark flow, the marking plan
(one interface), and its two markers (openpyxl copy, xlwings live workbook).
"""

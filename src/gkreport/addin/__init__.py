"""The Python side of the Excel ribbon add-in: the launcher (xlcall) and the buttons (excel).

The ``.xlam`` file itself is built by :mod:`gkreport.xlam`.
"""

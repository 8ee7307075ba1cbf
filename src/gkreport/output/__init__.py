"""Everything gkreport writes: the official template, filled copies, bulk rows, return notices.

Every file goes through :mod:`gkreport.output.outputs` (checks, lock, temp + rename).
"""

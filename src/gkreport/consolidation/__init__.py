"""Many reports into one: worker reading, sums, roster, roll-up, the summary workbook, comparisons."""

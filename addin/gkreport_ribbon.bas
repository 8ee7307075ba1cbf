Attribute VB_Name = "GKReportRibbon"
' Ribbon callbacks of the gkreport add-in (one Sub per onAction in customUI.xml).
' Keep this file ASCII: VBA stores source in the project code page (cp1252).
' Each button calls an explicit package, never a module named after the workbook,
' so non-ASCII workbook names do not matter. RunPython comes from the xlwings module.
Option Explicit

Sub GK_NewForm2021(control As IRibbonControl)
    RunPython "import gkreport.excel; gkreport.excel.new_form_2021()"
End Sub

Sub GK_NewForm2019(control As IRibbonControl)
    RunPython "import gkreport.excel; gkreport.excel.new_form_2019()"
End Sub

Sub GK_Check(control As IRibbonControl)
    RunPython "import gkreport.excel; gkreport.excel.check_active()"
End Sub

Sub GK_ClearMarks(control As IRibbonControl)
    RunPython "import gkreport.excel; gkreport.excel.clear_marks()"
End Sub

Sub GK_NextProblem(control As IRibbonControl)
    RunPython "import gkreport.excel; gkreport.excel.next_problem()"
End Sub

Sub GK_Consolidate(control As IRibbonControl)
    RunPython "import gkreport.excel; gkreport.excel.consolidate_folder()"
End Sub

Sub GK_Help(control As IRibbonControl)
    RunPython "import gkreport.excel; gkreport.excel.show_help()"
End Sub

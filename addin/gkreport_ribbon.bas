Attribute VB_Name = "GKReportRibbon"
' Ribbon callbacks of the gkreport add-in (one Sub per onAction in customUI.xml), the
' launcher that starts Python, and small helpers Python calls through Application.Run.
'
' Keep this file ASCII: VBA stores source in the project code page (cp1252). The
' Chinese messages come from GKText, a function the build appends to this module
' (generated from gkreport.xlam.messages as ChrW() calls). GKREPORT_VERSION is
' stamped by the build with the gkreport version the add-in was built from.
'
' Why not xlwings' RunPython: it reads its config through ActiveWorkbook (run-time
' error 91 when no workbook is open, the normal case for "new form" and "help"),
' starts Python through cmd.exe (flagged by security software on every click) and
' shows Python's stderr in English, read in the ANSI code page. The launcher below
' guards the no-workbook and Protected-View cases, runs pythonw.exe directly and
' leaves every message to Python, which shows them in Chinese through Excel.
Option Explicit

Public Const GKREPORT_VERSION As String = "dev"

#If Mac Then
#ElseIf VBA7 Then
    Private Declare PtrSafe Function GetCurrentProcessId Lib "kernel32" () As Long
#Else
    Private Declare Function GetCurrentProcessId Lib "kernel32" () As Long
#End If

' Field and record separators of the text exchanged with Python (never in cell text).
Private Const LOOK_FIELDS As Long = 14 ' fill, 4 x (style, weight, color), has note
Private Const XL_NONE As Long = -4142

Private Function FS() As String
    FS = Chr$(31)
End Function

Private Function RS() As String
    RS = Chr$(30)
End Function

' ------------------------------------------------------------------ ribbon callbacks

Sub GK_NewForm(control As IRibbonControl)
    GKRun "new_form", False
End Sub

Sub GK_Check(control As IRibbonControl)
    GKRun "check_active", True
End Sub

Sub GK_ClearMarks(control As IRibbonControl)
    GKRun "clear_marks", True
End Sub

Sub GK_NextProblem(control As IRibbonControl)
    GKRun "next_problem", True
End Sub

Sub GK_Consolidate(control As IRibbonControl)
    GKRun "consolidate_folder", False
End Sub

Sub GK_Help(control As IRibbonControl)
    GKRun "show_help", False
End Sub

' ------------------------------------------------------------------ launcher

Private Sub GKRun(ByVal entry As String, ByVal needsBook As Boolean)
    Dim interpreter As String, code As Long
    On Error GoTo Failed
    If GKInProtectedView() Then
        MsgBox GKText("protected_view"), vbExclamation, GKText("title")
        Exit Sub
    End If
    If needsBook And ActiveWorkbook Is Nothing Then
        MsgBox GKText("no_workbook"), vbInformation, GKText("title")
        Exit Sub
    End If
    interpreter = GKSetting("INTERPRETER")
    If interpreter = "" Then
        MsgBox GKText("no_config") & vbLf & GetConfigFilePath(), vbCritical, GKText("title")
        Exit Sub
    End If
    #If Mac Then
        ' Sandboxed Excel may not see the interpreter's folder; the AppleScript can.
    #Else
        If Not FileExists(interpreter) Then
            MsgBox GKText("no_python") & vbLf & interpreter, vbCritical, GKText("title")
            Exit Sub
        End If
    #End If
    Application.StatusBar = GKText("running")
    #If Mac Then
        code = GKLaunchMac(entry, interpreter)
    #Else
        code = GKLaunchWin(entry, interpreter)
    #End If
    Application.StatusBar = False
    If code <> 0 Then
        MsgBox GKText("python_failed") & vbLf & GKLogPath(), vbCritical, GKText("title")
    End If
    Exit Sub
Failed:
    Application.StatusBar = False
    MsgBox GKText("vba_failed") & vbLf & Err.Number & ": " & Err.Description, vbCritical, GKText("title")
End Sub

Private Function GKInProtectedView() As Boolean
    #If Mac Then
        GKInProtectedView = False
    #Else
        On Error Resume Next
        GKInProtectedView = Not (Application.ActiveProtectedViewWindow Is Nothing)
    #End If
End Function

Private Function GKSetting(ByVal key As String) As String
    ' The add-in's own config file (written by "gkreport addin install"), never a sheet
    ' of the active workbook.
    Dim value As String
    If key = "INTERPRETER" Then
        #If Mac Then
            key = "INTERPRETER_MAC"
        #Else
            key = "INTERPRETER_WIN"
        #End If
    End If
    If GetConfigFromFile(GetConfigFilePath(), key, value) Then GKSetting = value
End Function

Private Function GKLogPath() As String
    #If Mac Then
        GKLogPath = Environ("HOME") & "/.gkreport/gkreport.log"
    #Else
        GKLogPath = Environ("USERPROFILE") & "\.gkreport\gkreport.log"
    #End If
End Function

Private Function GKLaunchWin(ByVal entry As String, ByVal interpreter As String) As Long
    ' pythonw.exe started directly (no cmd.exe, no console window); VBA waits for it,
    ' Python talks to this Excel (found by its process id) through COM meanwhile.
    #If Mac Then
    #Else
    Dim wsh As Object, exe As String, folder As String, extra As String, previous As String
    exe = interpreter
    folder = ParentFolder(interpreter)
    If LCase$(Right$(exe, 11)) = "\python.exe" Then
        If FileExists(folder & "\pythonw.exe") Then exe = folder & "\pythonw.exe"
    End If
    Set wsh = CreateObject("WScript.Shell")
    extra = GKSetting("PYTHONPATH")
    If extra <> "" Then wsh.Environment("Process").Item("PYTHONPATH") = extra
    ' A Conda environment's DLLs (pywin32 among them) are found through PATH, as
    ' "conda activate" would set it.
    If Len(Dir(folder & "\Library\bin", vbDirectory)) > 0 Then
        If InStr(1, wsh.Environment("Process").Item("PATH"), folder & "\Library\bin;", vbTextCompare) = 0 Then
            wsh.Environment("Process").Item("PATH") = folder & ";" & folder & "\Library\bin;" & _
                wsh.Environment("Process").Item("PATH")
        End If
    End If
    ' Started in the Python folder (where older pywin32 finds its DLLs, as xlwings does);
    ' Excel's own current folder is put back afterwards.
    previous = wsh.CurrentDirectory
    wsh.CurrentDirectory = folder
    On Error GoTo Blocked
    GKLaunchWin = wsh.Run(Chr(34) & exe & Chr(34) & " -m gkreport.addin.xlcall " & entry & _
        " --pid=" & GetCurrentProcessId() & " --addin-version=" & GKREPORT_VERSION & _
        " --xlwings-version=" & XLWINGS_VERSION, 0, True)
    On Error GoTo 0
    wsh.CurrentDirectory = previous
    Exit Function
Blocked:
    ' Typically security software (or the "block Office child processes" rule).
    wsh.CurrentDirectory = previous
    MsgBox GKText("launch_blocked") & vbLf & exe & vbLf & Err.Description, vbCritical, GKText("title")
    GKLaunchWin = 0
    #End If
End Function

Private Function GKLaunchMac(ByVal entry As String, ByVal interpreter As String) As Long
    ' The AppleScript that "gkreport addin install" puts next to Excel (xlwings') runs
    ' Python in the background; Python shows its own messages, so 0 is returned.
    #If Mac Then
    Dim params As String, book As String, logFile As String
    logFile = Environ("HOME") & "/gkreport-run.log"
    If Not ActiveWorkbook Is Nothing Then book = ActiveWorkbook.Name
    params = "false;;;;;;" & GKSetting("PYTHONPATH") & "|" & ToPosixPath(interpreter) & "|" & _
        "import gkreport.addin.xlcall as m; m.main(['" & entry & "', '--addin-version=" & GKREPORT_VERSION & _
        "', '--xlwings-version=" & XLWINGS_VERSION & "'])" & "|" & book & "|" & _
        Left(Application.Path, Len(Application.Path) - 4) & "|" & logFile
    On Error GoTo NoScript
    AppleScriptTask "xlwings-" & XLWINGS_VERSION & ".applescript", "VbaHandler", params
    GKLaunchMac = 0
    Exit Function
NoScript:
    MsgBox GKText("no_applescript"), vbCritical, GKText("title")
    GKLaunchMac = 0
    #End If
End Function

' ------------------------------------------------------------------ helpers for Python
' Python calls these through Application.Run (one cross-process call each) so that
' marking many cells costs a few calls, not dozens per cell. Arguments and results are
' strings only (records split by RS, fields by FS), which Application.Run passes the
' same way on Windows and on the Mac.

Public Function GK_Ping() As String
    GK_Ping = GKREPORT_VERSION
End Function

Public Function GK_ReadLooks(ByVal bookName As String, ByVal sheetName As String, ByVal refs As String) As String
    ' For each ref: fill (-1 = none), then left/top/bottom/right border style, weight,
    ' color, then 1/0 for "has a note", then the note text.
    Dim ws As Worksheet, c As Range, parts() As String, out() As String, f() As String
    Dim i As Long, e As Long, edges As Variant
    edges = Array(7, 8, 9, 10)
    Set ws = Workbooks(bookName).Worksheets(sheetName)
    parts = Split(refs, RS)
    ReDim out(LBound(parts) To UBound(parts))
    For i = LBound(parts) To UBound(parts)
        Set c = ws.Range(parts(i))
        ReDim f(0 To LOOK_FIELDS)
        If c.Interior.ColorIndex = XL_NONE Then f(0) = "-1" Else f(0) = CStr(c.Interior.Color)
        For e = 0 To 3
            With c.Borders(edges(e))
                f(1 + 3 * e) = CStr(.LineStyle)
                f(2 + 3 * e) = CStr(.Weight)
                f(3 + 3 * e) = CStr(.Color)
            End With
        Next e
        If c.Comment Is Nothing Then
            f(13) = "0"
        Else
            f(13) = "1"
            f(14) = c.Comment.Text
        End If
        out(i) = Join(f, FS)
    Next i
    GK_ReadLooks = Join(out, RS)
End Function

Public Function GK_WriteLooks(ByVal bookName As String, ByVal sheetName As String, ByVal data As String) As Long
    ' Each record: ref, what to write (1 fill, 2 borders, 4 note), then the fields of
    ' GK_ReadLooks. Returns how many notes could not be written (threaded comments).
    Dim ws As Worksheet, c As Range, recs() As String, f() As String
    Dim i As Long, e As Long, mask As Long, failed As Long, edges As Variant
    edges = Array(7, 8, 9, 10)
    Set ws = Workbooks(bookName).Worksheets(sheetName)
    If data = "" Then Exit Function
    recs = Split(data, RS)
    For i = LBound(recs) To UBound(recs)
        f = Split(recs(i), FS)
        Set c = ws.Range(f(0))
        mask = CLng(f(1))
        If (mask And 1) <> 0 Then
            If CLng(f(2)) = -1 Then
                c.Interior.ColorIndex = XL_NONE
            Else
                c.Interior.Color = CLng(f(2))
            End If
        End If
        If (mask And 2) <> 0 Then
            For e = 0 To 3
                With c.Borders(edges(e))
                    If CLng(f(3 + 3 * e)) = XL_NONE Then
                        .LineStyle = XL_NONE
                    Else
                        .LineStyle = CLng(f(3 + 3 * e))
                        .Weight = CLng(f(4 + 3 * e))
                        .Color = CLng(f(5 + 3 * e))
                    End If
                End With
            Next e
        End If
        If (mask And 4) <> 0 Then
            On Error Resume Next
            If Not c.Comment Is Nothing Then c.Comment.Delete
            If f(15) = "1" Then c.AddComment f(16)
            If Err.Number <> 0 Then failed = failed + 1
            Err.Clear
            On Error GoTo 0
        End If
    Next i
    GK_WriteLooks = failed
End Function

Public Function GK_Unprotect(ByVal bookName As String) As String
    ' One record per worksheet (so Python learns the sheet names in the same call):
    ' its name, then "" when it is not protected, "PASSWORD" when it has a password (left
    ' protected, untouched), else its protection options, lifted now, for GK_Protect.
    Dim ws As Worksheet, out As String, opts As String
    For Each ws In Workbooks(bookName).Worksheets
        opts = ""
        If ws.ProtectContents Or ws.ProtectDrawingObjects Or ws.ProtectScenarios Then
            opts = GKProtectionOptions(ws)
            On Error Resume Next
            ws.Unprotect Password:=""
            If Err.Number <> 0 Or ws.ProtectContents Then opts = "PASSWORD"
            Err.Clear
            On Error GoTo 0
        End If
        If out <> "" Then out = out & RS
        out = out & ws.Name & FS & opts
    Next ws
    GK_Unprotect = out
End Function

Private Function GKProtectionOptions(ws As Worksheet) As String
    Dim p As Protection
    Set p = ws.Protection
    GKProtectionOptions = Join(Array(GKFlag(ws.ProtectDrawingObjects), GKFlag(ws.ProtectContents), _
        GKFlag(ws.ProtectScenarios), GKFlag(ws.ProtectionMode), GKFlag(p.AllowFormattingCells), _
        GKFlag(p.AllowFormattingColumns), GKFlag(p.AllowFormattingRows), GKFlag(p.AllowInsertingColumns), _
        GKFlag(p.AllowInsertingRows), GKFlag(p.AllowInsertingHyperlinks), GKFlag(p.AllowDeletingColumns), _
        GKFlag(p.AllowDeletingRows), GKFlag(p.AllowSorting), GKFlag(p.AllowFiltering), _
        GKFlag(p.AllowUsingPivotTables)), FS)
End Function

Private Function GKFlag(ByVal value As Boolean) As String
    If value Then GKFlag = "1" Else GKFlag = "0"
End Function

Public Function GK_Protect(ByVal bookName As String, ByVal data As String) As Long
    ' Put back what GK_Unprotect lifted, with each sheet's own options.
    Dim recs() As String, f() As String, i As Long, ws As Worksheet
    If data = "" Then Exit Function
    recs = Split(data, RS)
    For i = LBound(recs) To UBound(recs)
        f = Split(recs(i), FS)
        If UBound(f) >= 15 Then
            Set ws = Workbooks(bookName).Worksheets(f(0))
            ws.Protect DrawingObjects:=(f(1) <> "0"), Contents:=(f(2) <> "0"), Scenarios:=(f(3) <> "0"), _
                UserInterfaceOnly:=(f(4) <> "0"), AllowFormattingCells:=(f(5) <> "0"), _
                AllowFormattingColumns:=(f(6) <> "0"), AllowFormattingRows:=(f(7) <> "0"), _
                AllowInsertingColumns:=(f(8) <> "0"), AllowInsertingRows:=(f(9) <> "0"), _
                AllowInsertingHyperlinks:=(f(10) <> "0"), AllowDeletingColumns:=(f(11) <> "0"), _
                AllowDeletingRows:=(f(12) <> "0"), AllowSorting:=(f(13) <> "0"), _
                AllowFiltering:=(f(14) <> "0"), AllowUsingPivotTables:=(f(15) <> "0")
            GK_Protect = GK_Protect + 1
        End If
    Next i
End Function

Public Function GK_NewSheet(ByVal bookName As String, ByVal sheetName As String, ByVal visibility As Long) As Long
    ' A new last sheet; visibility is xlSheetVisible (-1) or xlSheetVeryHidden (2).
    Dim wb As Workbook, ws As Worksheet
    Set wb = Workbooks(bookName)
    Set ws = wb.Worksheets.Add(After:=wb.Sheets(wb.Sheets.Count))
    ws.Name = sheetName
    ws.Visible = visibility
    GK_NewSheet = ws.Index
End Function

Public Function GK_DeleteSheet(ByVal bookName As String, ByVal sheetName As String) As Long
    ' Excel refuses to delete a very hidden sheet and asks "delete permanently?".
    Dim ws As Worksheet, alerts As Boolean
    Set ws = Workbooks(bookName).Worksheets(sheetName)
    alerts = Application.DisplayAlerts
    Application.DisplayAlerts = False
    ws.Visible = -1
    ws.Delete
    Application.DisplayAlerts = alerts
    GK_DeleteSheet = 1
End Function

Public Function GK_FinishResults(ByVal bookName As String, ByVal sheetName As String, ByVal links As String, _
                                 ByVal widths As String) As Long
    ' Links (records: anchor ref, sub-address), header look, column widths, then show it.
    Dim ws As Worksheet, recs() As String, f() As String, i As Long, last As Long
    Set ws = Workbooks(bookName).Worksheets(sheetName)
    If links <> "" Then
        recs = Split(links, RS)
        For i = LBound(recs) To UBound(recs)
            f = Split(recs(i), FS)
            ws.Hyperlinks.Add Anchor:=ws.Range(f(0)), Address:="", SubAddress:=f(1), TextToDisplay:=f(2)
            GK_FinishResults = GK_FinishResults + 1
        Next i
    End If
    last = ws.UsedRange.Rows.Count
    With ws.Range("A1:H1")
        .Font.Bold = True
        .Interior.Color = RGB(217, 225, 242)
    End With
    f = Split(widths, FS)
    For i = LBound(f) To UBound(f)
        ws.Columns(i + 1).ColumnWidth = Val(f(i))
    Next i
    ws.Range("F1:F" & last).WrapText = True
    ws.Range("A1:H" & last).Rows.AutoFit
    ws.Activate
    ws.Range("A1").Select
End Function

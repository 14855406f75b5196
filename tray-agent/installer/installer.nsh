; DashFleet Agent: install-time configuration for the NSIS installer (included by electron-builder).
;   DashFleet-Agent-Setup.exe /S /SERVER=https://fleet.example.com /KEY=dfk_...
; writes %ProgramData%\DashFleet\agent.json, which the agent reads below the user's own config file.
; Without /SERVER the agent asks on first run.
!include "FileFunc.nsh"

!macro customInstall
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/SERVER=" $R1
  ${GetOptions} $R0 "/KEY=" $R2
  ${If} $R1 != ""
    ReadEnvStr $R3 "PROGRAMDATA"
    CreateDirectory "$R3\DashFleet"
    FileOpen $R4 "$R3\DashFleet\agent.json" w
    FileWrite $R4 '{$\r$\n  "server": "$R1"'
    ${If} $R2 != ""
      FileWrite $R4 ',$\r$\n  "token": "$R2"'
    ${EndIf}
    FileWrite $R4 '$\r$\n}$\r$\n'
    FileClose $R4
  ${EndIf}
!macroend

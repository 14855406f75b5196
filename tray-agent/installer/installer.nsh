; DashFleet Agent: install-time configuration for the NSIS installer (included by electron-builder).
;   DashFleet-Agent-Setup.exe /S /SERVER=https://fleet.example.com /KEY=dfk_...
; writes the installing user's own config file, %APPDATA%\DashFleet Agent\config.json, readable by that
; user only (the Windows form of 0600: no inherited access, full control for the user alone), in a data
; folder locked down the same way (0700). Without /SERVER the agent asks on first run.
!include "FileFunc.nsh"

!macro customInstall
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/SERVER=" $R1
  ${GetOptions} $R0 "/KEY=" $R2
  ${If} $R1 != ""
    ReadEnvStr $R5 "USERNAME"
    CreateDirectory "$APPDATA\DashFleet Agent"
    nsExec::Exec 'icacls "$APPDATA\DashFleet Agent" /inheritance:r /grant:r "$R5:(OI)(CI)F"'
    Pop $R6
    FileOpen $R4 "$APPDATA\DashFleet Agent\config.json" w
    FileWrite $R4 '{$\r$\n  "server": "$R1"'
    ${If} $R2 != ""
      FileWrite $R4 ',$\r$\n  "token": "$R2"'
    ${EndIf}
    FileWrite $R4 '$\r$\n}$\r$\n'
    FileClose $R4
    nsExec::Exec 'icacls "$APPDATA\DashFleet Agent\config.json" /inheritance:r /grant:r "$R5:F"'
    Pop $R6
  ${EndIf}
!macroend

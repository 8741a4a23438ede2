; Inno Setup script for azassist on Windows (UNTESTED: only Linux is built and run here).
;
; Build on Windows, from the repository root:
;   .venv\Scripts\python resources\packaging\build.py --skip-tar --skip-deb
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 resources\packaging\windows\azassist.iss
; Output: dist\azassist-<version>-windows-setup.exe
;
; The bundle (dist\azassist\) holds azassist.exe (windowed) and azassist-cli.exe (console:
; "azassist-cli selftest" prints its report there). Per-user install by default (no admin
; prompt); an administrator may choose all users in the dialog.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "azassist"
#define BundleDir "..\..\..\dist\azassist"

[Setup]
AppId={{6E3E2B1C-3C1B-4B5F-9E7A-8A2D7C1F4A21}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=azassist
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\..\dist
OutputBaseFilename={#AppName}-{#AppVersion}-windows-setup
SetupIconFile=..\..\..\build\icons\azassist.ico
UninstallDisplayIcon={app}\azassist.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\azassist.exe"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\azassist.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\azassist.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Settings, conversations and logs live in the user's profile (platformdirs), not here, and
; are kept on uninstall; the API key stays in Windows Credential Manager until removed in the app.
Type: filesandordirs; Name: "{app}\_internal"

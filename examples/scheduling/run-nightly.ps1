<#
.SYNOPSIS
    Nightly paragon-auditor run for Windows Task Scheduler (see docs/scheduling.md).

.DESCRIPTION
    Audits the cluster into a dated report folder, records the run in the history database
    (drift and trend in the report), applies waivers, notifies only when something new
    fails, keeps a "latest" copy for a bookmark, prunes old report folders and exits with
    the auditor's exit code, so Task Scheduler's "Last Run Result" is the audit result:

        0  clean    1  findings at or above --fail-on (normal while known findings exist)
        2  usage or input error: the job is broken, alert
        3  a node could not be audited: alert

    No password is in this script or its arguments. WinRM credentials come from the
    inventory's credential reference (Kerberos with a gMSA needs none); an SMTP relay
    password, if the relay wants one, is read from Windows Credential Manager below.
#>
[CmdletBinding()]
param(
    [string]$Auditor      = 'C:\Program Files\paragon-auditor\venv\Scripts\auditor.exe',
    [string]$Python       = 'C:\Program Files\paragon-auditor\venv\Scripts\python.exe',
    [string]$ConfigDir    = 'C:\ProgramData\paragon-auditor',
    [string]$ReportRoot   = 'C:\ProgramData\paragon-auditor\reports',
    [int]$KeepDays        = 90,
    [string]$FailOn       = 'high',
    [switch]$UseSmtpCredential
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$inventory = Join-Path $ConfigDir 'cluster.yaml'
$waivers   = Join-Path $ConfigDir 'waivers.yaml'
$notify    = Join-Path $ConfigDir 'notify.yaml'
$history   = Join-Path $ConfigDir 'history.sqlite'
$stamp     = Get-Date -Format 'yyyy-MM-dd'
$outDir    = Join-Path $ReportRoot $stamp
$logFile   = Join-Path $ReportRoot 'nightly.log'

New-Item -ItemType Directory -Force -Path $outDir | Out-Null

if ($UseSmtpCredential) {
    # Stored once, as the task's account:  keyring set paragon-auditor-smtp svc-paragon-audit
    $code = "import keyring; print(keyring.get_password('paragon-auditor-smtp', 'svc-paragon-audit') or '')"
    $env:PARAGON_AUDITOR_SMTP_PASSWORD = (& $Python -c $code | Out-String).Trim()
}

$auditArgs = @(
    'audit',
    '--inventory', $inventory,
    '--out', $outDir,
    '--format', 'html,json,junit',
    '--fail-on', $FailOn,
    '--history', $history,
    '--quiet'
)
if (Test-Path $waivers) { $auditArgs += @('--waivers', $waivers) }
if (Test-Path $notify)  { $auditArgs += @('--notify-config', $notify) }

"$(Get-Date -Format o) start: auditor $($auditArgs -join ' ')" | Out-File -FilePath $logFile -Append -Encoding utf8

# Windows PowerShell 5.1 turns native stderr lines into errors when redirected under 'Stop'.
$ErrorActionPreference = 'Continue'
& $Auditor @auditArgs 2>&1 | ForEach-Object { "$_" } | Out-File -FilePath $logFile -Append -Encoding utf8
$exitCode = $LASTEXITCODE
$ErrorActionPreference = 'Stop'

"$(Get-Date -Format o) end: exit code $exitCode" | Out-File -FilePath $logFile -Append -Encoding utf8

# A stable place for a bookmark or an IIS virtual directory.
$latest = Join-Path $ReportRoot 'latest'
New-Item -ItemType Directory -Force -Path $latest | Out-Null
Copy-Item -Path (Join-Path $outDir '*') -Destination $latest -Force

# Keep $KeepDays days of dated report folders; the history database keeps every run anyway.
$limit = (Get-Date).AddDays(-$KeepDays)
Get-ChildItem -Path $ReportRoot -Directory |
    Where-Object { $_.Name -match '^\d{4}-\d{2}-\d{2}$' -and $_.LastWriteTime -lt $limit } |
    Remove-Item -Recurse -Force

exit $exitCode

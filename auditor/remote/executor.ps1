# paragon-auditor remote executor, protocol 1 (Windows PowerShell 5.1).
#
# Started by the fixed bootstrap (bootstrap.ps1) with the request JSON as its only argument.
# Runs every op of the request and writes ONE ASCII line to stdout:
#     PARAGON-AUDITOR/1 <base64 of the UTF-8 JSON response>
# so that the console codepage (437) cannot corrupt anything. The JSON is written by PA-Json,
# which produces exactly what Python's json.dumps(ensure_ascii=True, separators=(',', ':'))
# produces, so this script and the lab's Python executor (auditor/lab/executor.py) give
# byte-identical answers for identical node data. See docs/protocol.md.
#
# Rules: one failing op is reported (status "failed", error text) and the others still run;
# in an "apply" request the first failure stops the rest (status "skipped"). Only a request
# this script cannot understand is fatal: a message on stderr and exit code 1.
# Nothing here may write to the pipeline except through [Console]::Out at the very end.
#
# The script is kept in two files, sent as one (auditor.remote.bootstrap.executor_script): this
# one (settings and helpers) and executor_ops.ps1 (the ops and the main program).
param([string]$RequestJson)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$global:PAExit = 1
$script:PAProcs = $null
$script:PASvcs = $null
$script:Inv = [Globalization.CultureInfo]::InvariantCulture
Add-Type -AssemblyName System.ServiceProcess

# ------------------------------------------------------------------ helpers
function PA-Inner($ex) {
    while (($ex -is [System.Management.Automation.MethodInvocationException] -or
            $ex -is [System.Management.Automation.RuntimeException]) -and $null -ne $ex.InnerException) {
        $ex = $ex.InnerException
    }
    return $ex
}

function PA-Msg($err) {
    $ex = $err
    if ($err -is [System.Management.Automation.ErrorRecord]) { $ex = $err.Exception }
    $ex = PA-Inner $ex
    return ([string]$ex.Message).Trim()
}

function PA-Iso($dt) {
    if ($null -eq $dt) { return $null }
    return ([datetime]$dt).ToUniversalTime().ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'", $script:Inv)
}

function PA-Now { return PA-Iso ([DateTime]::UtcNow) }

function PA-Stamp { return [DateTime]::UtcNow.ToString("yyyyMMdd'T'HHmmssfff'Z'", $script:Inv) }

function PA-JsonString([string]$s) {
    if ($s -cmatch '^[ !#-\[\]-~]*\z') { return '"' + $s + '"' }
    $sb = New-Object System.Text.StringBuilder ($s.Length + 16)
    [void]$sb.Append('"')
    foreach ($ch in $s.ToCharArray()) {
        $c = [int]$ch
        if ($c -eq 34) { [void]$sb.Append('\"') }
        elseif ($c -eq 92) { [void]$sb.Append('\\') }
        elseif ($c -eq 10) { [void]$sb.Append('\n') }
        elseif ($c -eq 13) { [void]$sb.Append('\r') }
        elseif ($c -eq 9) { [void]$sb.Append('\t') }
        elseif ($c -eq 8) { [void]$sb.Append('\b') }
        elseif ($c -eq 12) { [void]$sb.Append('\f') }
        elseif ($c -lt 32 -or $c -gt 126) { [void]$sb.Append('\u').Append($c.ToString('x4', $script:Inv)) }
        else { [void]$sb.Append($ch) }
    }
    [void]$sb.Append('"')
    return $sb.ToString()
}

function PA-Json($v) {
    if ($null -eq $v) { return 'null' }
    if ($v -is [string]) { return PA-JsonString $v }
    if ($v -is [char]) { return PA-JsonString ([string]$v) }
    if ($v -is [bool]) { if ($v) { return 'true' } else { return 'false' } }
    if ($v -is [int] -or $v -is [long] -or $v -is [uint32] -or $v -is [uint64] -or $v -is [int16] -or
        $v -is [uint16] -or $v -is [byte] -or $v -is [sbyte] -or $v -is [decimal]) {
        return ([decimal]$v).ToString($script:Inv)
    }
    if ($v -is [System.Collections.IDictionary]) {
        $parts = New-Object 'System.Collections.Generic.List[string]'
        foreach ($k in $v.Keys) { $parts.Add((PA-JsonString ([string]$k)) + ':' + (PA-Json $v[$k])) }
        return '{' + ($parts -join ',') + '}'
    }
    if ($v -is [System.Collections.IEnumerable]) {
        $parts = New-Object 'System.Collections.Generic.List[string]'
        foreach ($x in $v) { $parts.Add((PA-Json $x)) }
        return '[' + ($parts -join ',') + ']'
    }
    return PA-JsonString ([string]$v)
}

function PA-List { return ,(New-Object 'System.Collections.Generic.List[object]') }

function PA-WildRegex([string]$pattern) {
    $sb = New-Object System.Text.StringBuilder '^'
    foreach ($ch in $pattern.ToCharArray()) {
        if ($ch -eq [char]'*') { [void]$sb.Append('.*') }
        elseif ($ch -eq [char]'?') { [void]$sb.Append('.') }
        else { [void]$sb.Append([regex]::Escape([string]$ch)) }
    }
    [void]$sb.Append('\z')
    $opts = [System.Text.RegularExpressions.RegexOptions]'IgnoreCase, Singleline'
    return New-Object System.Text.RegularExpressions.Regex -ArgumentList @($sb.ToString(), $opts)
}

function PA-WildAny($patterns, [string]$text) {
    foreach ($p in @($patterns)) { if ((PA-WildRegex ([string]$p)).IsMatch($text)) { return $true } }
    return $false
}

# ------------------------------------------------------------------ Windows path rules
# The rules of auditor/winpath.py, mirrored once; both are checked against one table of cases
# (tests/remote/winpath_cases.json). Only ordinal string methods, -match and plain control
# flow here: the test evaluates these five functions with an interpreter of exactly those
# constructs and fails on anything else (see docs/architecture.md).
function PA-NormPath([string]$path) {
    $p = $path.Replace('/', '\')
    if ($p.StartsWith('\\?\UNC\', [StringComparison]::OrdinalIgnoreCase)) { $p = '\\' + $p.Substring(8) }
    elseif ($p.StartsWith('\\?\', [StringComparison]::Ordinal) -or $p.StartsWith('\??\', [StringComparison]::Ordinal)) {
        $p = $p.Substring(4)
    }
    $unc = $p.StartsWith('\\', [StringComparison]::Ordinal)
    if ($unc) { $p = $p.TrimStart('\') }
    while ($p.Contains('\\')) { $p = $p.Replace('\\', '\') }
    if (-not ($p -match '^[A-Za-z]:\\\z')) { $p = $p.TrimEnd('\') }
    if ($unc) { return '\\' + $p }
    return $p
}

function PA-IsAbs([string]$path) { return ((PA-NormPath $path) -match '^(?:[A-Za-z]:\\|\\\\[^\\]+\\[^\\]+)') }

function PA-Join([string]$base, [string]$rel) {
    if (PA-IsAbs $rel) { return (PA-NormPath $rel) }
    return (PA-NormPath ($base + '\' + $rel))
}

function PA-ImageExe([string]$imagePath) {
    $p = $imagePath.Trim()
    $exe = $p
    if ($p.StartsWith('"', [StringComparison]::Ordinal)) {
        $e = $p.IndexOf('"', 1, [StringComparison]::Ordinal)
        if ($e -gt 0) { $exe = $p.Substring(1, $e - 1) } else { $exe = $p.Substring(1) }
    } else {
        $m = [regex]::Match($p, '^(.*?\.exe)(?:\s|$)', [System.Text.RegularExpressions.RegexOptions]::IgnoreCase)
        if ($m.Success) { $exe = $m.Groups[1].Value }
        else {
            $sp = $p.IndexOf(' ', [StringComparison]::Ordinal)
            if ($sp -ge 0) { $exe = $p.Substring(0, $sp) }
        }
    }
    return (PA-NormPath $exe)
}

function PA-InstallDir([string]$imagePath, $strip) {
    $exe = PA-ImageExe $imagePath
    $cut = $exe.LastIndexOf('\', [StringComparison]::Ordinal)
    if ($cut -le 0) { return $null }
    $folder = $exe.Substring(0, $cut)
    foreach ($tail in @($strip)) {
        $t = ([string]$tail).Replace('/', '\')
        if ($t.Length -gt 0 -and $folder.Length -gt $t.Length -and $folder.EndsWith($t, [StringComparison]::OrdinalIgnoreCase)) {
            return $folder.Substring(0, $folder.Length - $t.Length)
        }
    }
    return $folder
}

# ------------------------------------------------------------------ node access
function PA-Services {
    if ($null -eq $script:PASvcs) { $script:PASvcs = @(Get-CimInstance -ClassName Win32_Service) }
    return ,$script:PASvcs
}

function PA-Procs {
    if ($null -eq $script:PAProcs) {
        $script:PAProcs = @{}
        foreach ($p in @(Get-CimInstance -ClassName Win32_Process)) { $script:PAProcs[[long]$p.ProcessId] = $p }
    }
    return $script:PAProcs
}

function PA-ServiceInfo($s) {
    $svcPid = [long]$s.ProcessId
    $start = $null
    $outPid = $null
    if ($svcPid -ne 0) {
        $outPid = $svcPid
        $pr = (PA-Procs)[$svcPid]
        if ($null -ne $pr -and $null -ne $pr.CreationDate) { $start = PA-Iso $pr.CreationDate }
    }
    return [ordered]@{
        name = [string]$s.Name; display_name = [string]$s.DisplayName
        state = ([string]$s.State) -replace ' ', ''; start_mode = [string]$s.StartMode
        account = [string]$s.StartName; image_path = [string]$s.PathName
        start_time = $start; pid = $outPid
    }
}

function PA-ProcessInfo($p) {
    return [ordered]@{
        name = [string]$p.Name; pid = [long]$p.ProcessId; path = [string]$p.ExecutablePath
        start_time = (PA-Iso $p.CreationDate); command_line = [string]$p.CommandLine
    }
}

# Resolve a subsystem's install folder from the first of its services that exists.
function PA-Install($install) {
    foreach ($n in @($install.services)) {
        foreach ($s in (PA-Services)) {
            if ([string]::Equals([string]$s.Name, [string]$n, [StringComparison]::OrdinalIgnoreCase)) {
                return [ordered]@{ service = [string]$s.Name; install_dir = (PA-InstallDir ([string]$s.PathName) $install.strip) }
            }
        }
    }
    return [ordered]@{ service = $null; install_dir = $null }
}

function PA-DecodeText([byte[]]$b) {
    $start = 0
    if ($b.Length -ge 3 -and $b[0] -eq 0xEF -and $b[1] -eq 0xBB -and $b[2] -eq 0xBF) { $start = 3 }
    try { return (New-Object System.Text.UTF8Encoding($false, $true)).GetString($b, $start, $b.Length - $start) }
    catch { return [System.Text.Encoding]::GetEncoding(28591).GetString($b, $start, $b.Length - $start) }
}

function PA-UnescapeProp([string]$s) {
    $sb = New-Object System.Text.StringBuilder
    $i = 0
    while ($i -lt $s.Length) {
        $c = $s[$i]
        if ($c -ne [char]'\') { [void]$sb.Append($c); $i++; continue }
        if ($i + 1 -ge $s.Length) { $i++; continue }
        $n = [string]$s[$i + 1]
        if ($n -ceq 'u') {
            # Java refuses the whole file on a malformed \uxxxx (auditor/parsers/properties.py)
            if (-not ($i + 6 -le $s.Length -and $s.Substring($i + 2, 4) -match '^[0-9A-Fa-f]{4}$')) {
                throw 'malformed \uxxxx escape'
            }
            [void]$sb.Append([char][Convert]::ToInt32($s.Substring($i + 2, 4), 16))
            $i += 6
            continue
        }
        if ($n -ceq 't') { [void]$sb.Append("`t") }
        elseif ($n -ceq 'n') { [void]$sb.Append("`n") }
        elseif ($n -ceq 'r') { [void]$sb.Append("`r") }
        elseif ($n -ceq 'f') { [void]$sb.Append([char]12) }
        else { [void]$sb.Append($n) }
        $i += 2
    }
    return $sb.ToString()
}

function PA-SplitProp([string]$line) {
    $ws = " `t" + [char]12
    $i = 0
    $n = $line.Length
    while ($i -lt $n) {
        $c = $line[$i]
        if ($c -eq [char]'\') { $i += 2; continue }
        if (('=:' + $ws).IndexOf($c) -ge 0) { break }
        $i++
    }
    if ($i -gt $n) { $i = $n }
    $key = $line.Substring(0, $i)
    $j = $i
    while ($j -lt $n -and $ws.IndexOf($line[$j]) -ge 0) { $j++ }
    if ($j -lt $n -and '=:'.IndexOf($line[$j]) -ge 0) {
        $j++
        while ($j -lt $n -and $ws.IndexOf($line[$j]) -ge 0) { $j++ }
    }
    return @((PA-UnescapeProp $key), (PA-UnescapeProp $line.Substring($j)))
}

# Java Properties.load rules (auditor/parsers/properties.py); returns the value of $key (last
# occurrence wins) or $null; throws on a malformed \uxxxx (Java cannot load such a file).
function PA-ReadProperty([string]$text, [string]$key) {
    $value = $null
    $logical = ''
    $continuing = $false
    $trim = [char[]]@([char]' ', [char]"`t", [char]12)
    foreach ($raw in [regex]::Split($text, "\r\n|\r|\n")) {
        $line = $raw.TrimStart($trim)
        if (-not $continuing -and ($line.Length -eq 0 -or $line[0] -eq [char]'#' -or $line[0] -eq [char]'!')) { continue }
        $trailing = $line.Length - $line.TrimEnd([char]'\').Length
        if ($trailing % 2 -eq 1) {
            $logical += $line.Substring(0, $line.Length - 1)
            $continuing = $true
            continue
        }
        $logical += $line
        $continuing = $false
        $kv = PA-SplitProp $logical
        if ($kv[0] -ceq $key) { $value = $kv[1] }
        $logical = ''
    }
    if ($continuing -and $logical.Length -gt 0) {
        $kv = PA-SplitProp $logical
        if ($kv[0] -ceq $key) { $value = $kv[1] }
    }
    return $value
}

function PA-Hex([byte[]]$b) { return ([BitConverter]::ToString($b) -replace '-', '').ToLowerInvariant() }

function PA-Sha256File([string]$path) {
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $fs = New-Object System.IO.FileStream($path, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read,
        ([System.IO.FileShare]'ReadWrite, Delete'))
    try { return (PA-Hex ($sha.ComputeHash($fs))) } finally { $fs.Dispose(); $sha.Dispose() }
}

function PA-ReadFile([string]$path, [long]$max) {
    $e = [ordered]@{ path = $path; exists = $false; mtime = $null; size = $null; content_b64 = $null; truncated = $false; error = $null }
    try {
        if (-not [System.IO.File]::Exists($path)) { return $e }
        $e.exists = $true
        $e.mtime = PA-Iso ([System.IO.File]::GetLastWriteTimeUtc($path))
        $fs = New-Object System.IO.FileStream($path, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read,
            ([System.IO.FileShare]'ReadWrite, Delete'))
        try {
            $len = [long]$fs.Length
            $e.size = $len
            $n = [long][Math]::Min($len, $max)
            $buf = New-Object byte[] $n
            $off = 0
            while ($off -lt $n) {
                $r = $fs.Read($buf, $off, $n - $off)
                if ($r -le 0) { break }
                $off += $r
            }
            $e.content_b64 = [Convert]::ToBase64String($buf, 0, $off)
            $e.truncated = ($len -gt $max)
        } finally { $fs.Dispose() }
    } catch { $e.error = PA-Msg $_ }
    return $e
}

function PA-Probe([string]$path) {
    $r = [ordered]@{ path = $path; exists = $false; is_dir = $false; error = $null }
    try {
        if (Test-Path -LiteralPath $path) {
            $r.exists = $true
            $r.is_dir = [bool](Test-Path -LiteralPath $path -PathType Container)
        } else {
            # Test-Path says only "no": ask the file system why (network path not found, access denied ...)
            try {
                $en = [System.IO.Directory]::EnumerateFileSystemEntries($path).GetEnumerator()
                [void]$en.MoveNext()
            } catch {
                $ex = PA-Inner $_.Exception
                if (-not ($ex -is [System.IO.DirectoryNotFoundException] -or $ex -is [System.IO.FileNotFoundException])) {
                    $r.error = ([string]$ex.Message).Trim()
                }
            }
        }
    } catch { $r.error = PA-Msg $_ }
    return $r
}

function PA-RegPath([string]$key) {
    $k = $key -replace '^HKLM:?\\', 'HKEY_LOCAL_MACHINE\' -replace '^HKCU:?\\', 'HKEY_CURRENT_USER\' `
        -replace '^HKCR:?\\', 'HKEY_CLASSES_ROOT\' -replace '^HKU:?\\', 'HKEY_USERS\'
    return 'Registry::' + $k
}

function PA-RegValue($item, [string]$name) {
    $kind = [string]$item.GetValueKind($name)
    $v = $item.GetValue($name)
    if ($kind -eq 'String' -or $kind -eq 'ExpandString') { return [string]$v }
    if ($kind -eq 'DWord') { return [long][BitConverter]::ToUInt32([BitConverter]::GetBytes([int]$v), 0) }
    if ($kind -eq 'QWord') { return [long]$v }
    if ($kind -eq 'MultiString') { return ,([string[]]@($v)) }
    if ($kind -eq 'Binary') { return 'hex:' + (PA-Hex ([byte[]]$v)) }
    return $null
}

function PA-ServiceByName([string]$name) {
    $svc = Get-CimInstance -ClassName Win32_Service -Filter ("Name='" + ($name -replace "'", "\'") + "'")
    if ($null -eq $svc) { throw "service $name not found" }
    return $svc
}

function PA-Replace([string]$source, [string]$path, [bool]$copy) {
    # Atomic replacement: a temporary file in the target folder, then File.Replace (keeps the
    # target's ACL) or Move for a new file. A reader never sees half a file.
    $dir = [System.IO.Path]::GetDirectoryName($path)
    $name = [System.IO.Path]::GetFileName($path)
    $tmp = [System.IO.Path]::Combine($dir, '.' + $name + '.' + [guid]::NewGuid().ToString('N') + '.paragon-auditor.tmp')
    try {
        if ($copy) { [System.IO.File]::Copy($source, $tmp, $false) } else { [System.IO.File]::Move($source, $tmp) }
        if ([System.IO.File]::Exists($path)) { [System.IO.File]::Replace($tmp, $path, $null) }
        else { [System.IO.File]::Move($tmp, $path) }
    } finally {
        if ([System.IO.File]::Exists($tmp)) { [System.IO.File]::Delete($tmp) }
    }
}

# ------------------------------------------------------------------ etcd (read-only, loopback)
# Never read, whatever the request says (auditor/remote/protocol.py ETCD_SECRET_FLOOR).
$script:PAEtcdSecretFloor = @('encrypted*', '*pass*', '*pwd*', '*secret*')

# One GET with a short timeout and no proxy; an HTTP error status is an answer, not a failure.
function PA-EtcdGet([string]$url, [int]$timeoutMs) {
    $req = [System.Net.WebRequest]::Create($url)
    $req.Method = 'GET'
    $req.Proxy = $null
    $req.Timeout = $timeoutMs
    $req.ReadWriteTimeout = $timeoutMs
    $req.AllowAutoRedirect = $false
    $req.KeepAlive = $false
    $resp = $null
    try { $resp = $req.GetResponse() }
    catch {
        $ex = PA-Inner $_.Exception
        if (-not ($ex -is [System.Net.WebException]) -or $null -eq $ex.Response) { throw }
        $resp = $ex.Response
    }
    try {
        $sr = New-Object System.IO.StreamReader -ArgumentList @($resp.GetResponseStream(), [System.Text.Encoding]::UTF8)
        $buf = New-Object char[] 65536
        $sb = New-Object System.Text.StringBuilder
        while ($true) {
            $n = $sr.Read($buf, 0, $buf.Length)
            if ($n -le 0) { break }
            [void]$sb.Append($buf, 0, $n)
            if ($sb.Length -gt 1048576) { throw 'answer larger than 1 MB' }
        }
        return [ordered]@{ status = [int]$resp.StatusCode; body = $sb.ToString() }
    } finally { $resp.Close() }
}

# The JSON of an answer with status 200 (or one of $also); anything else throws with etcd's message.
function PA-EtcdJson($r, $also) {
    if ($r.status -ne 200 -and @($also) -notcontains $r.status) {
        $text = "HTTP $($r.status)"
        try { $m = [string](ConvertFrom-Json -InputObject $r.body).message; if ($m) { $text += ': ' + $m } } catch { }
        throw $text
    }
    return (ConvertFrom-Json -InputObject $r.body)
}

function PA-EtcdMsg($err) {
    $ex = $err
    if ($err -is [System.Management.Automation.ErrorRecord]) { $ex = $err.Exception }
    $ex = PA-Inner $ex
    $msg = ([string]$ex.Message).Trim()
    if ($null -ne $ex.InnerException) { $msg += ' (' + ([string]$ex.InnerException.Message).Trim() + ')' }
    return $msg
}

$script:ChangeCodes = @('Success', 'Not Supported', 'Access Denied', 'Dependent Services Running',
    'Invalid Service Control', 'Service Cannot Accept Control', 'Service Not Active', 'Service Request Timeout',
    'Unknown Failure', 'Path Not Found', 'Service Already Running', 'Service Database Locked',
    'Service Dependency Deleted', 'Service Dependency Failure', 'Service Disabled', 'Service Logon Failed',
    'Service Marked For Deletion', 'Service No Thread', 'Status Circular Dependency', 'Status Duplicate Name',
    'Status Invalid Name', 'Status Invalid Parameter', 'Status Invalid Service Account', 'Status Service Exists',
    'Service Already Paused')

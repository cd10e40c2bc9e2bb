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

function PA-ImageExe([string]$imagePath) {
    $p = $imagePath.Trim()
    if ($p.StartsWith('"')) {
        $e = $p.IndexOf('"', 1)
        if ($e -gt 0) { return $p.Substring(1, $e - 1) }
        return $p.Substring(1)
    }
    $m = [regex]::Match($p, '^(.*?\.exe)(?:\s|$)', [System.Text.RegularExpressions.RegexOptions]::IgnoreCase)
    if ($m.Success) { return $m.Groups[1].Value }
    $sp = $p.IndexOf(' ')
    if ($sp -ge 0) { return $p.Substring(0, $sp) }
    return $p
}

function PA-InstallDir([string]$imagePath, $strip) {
    $exe = PA-ImageExe $imagePath
    $i = $exe.LastIndexOf('\')
    if ($i -lt 0) { return $null }
    $folder = $exe.Substring(0, $i)
    foreach ($t in @($strip)) {
        $t = [string]$t
        if ($t -and $folder.Length -gt $t.Length -and $folder.EndsWith($t, [StringComparison]::OrdinalIgnoreCase)) {
            return $folder.Substring(0, $folder.Length - $t.Length)
        }
    }
    return $folder
}

function PA-IsAbs([string]$path) { return ($path -match '^(?:[A-Za-z]:\\|\\\\[^\\]+\\[^\\]+)') }

function PA-Join([string]$base, [string]$rel) {
    if (PA-IsAbs $rel) { return $rel }
    return $base.TrimEnd('\') + '\' + $rel.TrimStart('\')
}

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
        if ($n -ceq 'u' -and $i + 6 -le $s.Length -and $s.Substring($i + 2, 4) -match '^[0-9A-Fa-f]{4}$') {
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

# Java Properties.load rules; returns the value of $key (last occurrence wins) or $null.
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

$script:ChangeCodes = @('Success', 'Not Supported', 'Access Denied', 'Dependent Services Running',
    'Invalid Service Control', 'Service Cannot Accept Control', 'Service Not Active', 'Service Request Timeout',
    'Unknown Failure', 'Path Not Found', 'Service Already Running', 'Service Database Locked',
    'Service Dependency Deleted', 'Service Dependency Failure', 'Service Disabled', 'Service Logon Failed',
    'Service Marked For Deletion', 'Service No Thread', 'Status Circular Dependency', 'Status Duplicate Name',
    'Status Invalid Name', 'Status Invalid Parameter', 'Status Invalid Service Account', 'Status Service Exists',
    'Service Already Paused')

# ------------------------------------------------------------------ collect ops
function PA-OpFacts($op) {
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $ipg = [System.Net.NetworkInformation.IPGlobalProperties]::GetIPGlobalProperties()
    $fqdn = [string]$ipg.HostName
    if ($ipg.DomainName) { $fqdn = $fqdn + '.' + [string]$ipg.DomainName }
    $release = $null
    $ndp = 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full'
    if (Test-Path -LiteralPath $ndp) {
        $rv = (Get-Item -LiteralPath $ndp).GetValue('Release')
        if ($null -ne $rv) { $release = [long]$rv }
    }
    $byAlias = [ordered]@{}
    foreach ($a in @(Get-NetIPAddress -AddressFamily IPv4 | Sort-Object -Property @('InterfaceIndex', 'IPAddress'))) {
        $ip = [string]$a.IPAddress
        if ($ip.StartsWith('127.')) { continue }
        $alias = [string]$a.InterfaceAlias
        if (-not $byAlias.Contains($alias)) { $byAlias[$alias] = New-Object 'System.Collections.Generic.List[string]' }
        $byAlias[$alias].Add($ip)
    }
    $interfaces = PA-List
    foreach ($k in $byAlias.Keys) { $interfaces.Add([ordered]@{ name = [string]$k; ipv4 = $byAlias[$k].ToArray() }) }
    $envOut = [ordered]@{}
    foreach ($n in @($op.env)) {
        $v = [Environment]::GetEnvironmentVariable([string]$n, 'Machine')
        if ($null -ne $v) { $envOut[[string]$n] = [string]$v }
    }
    return [ordered]@{
        hostname = [string]$env:COMPUTERNAME; fqdn = $fqdn
        os = [ordered]@{ caption = ([string]$os.Caption).Trim(); product_type = [long]$os.ProductType
                         version = [string]$os.Version; build = [string]$os.BuildNumber }
        dotnet_release = $release; interfaces = $interfaces; environment = $envOut
    }
}

function PA-OpServices($op) {
    $list = PA-List
    foreach ($s in (PA-Services)) {
        if (PA-WildAny $op.patterns ([string]$s.Name)) { $list.Add((PA-ServiceInfo $s)) }
    }
    return [ordered]@{ services = $list }
}

function PA-MatchProcesses($patterns) {
    $list = PA-List
    $procs = PA-Procs
    foreach ($k in @($procs.Keys | Sort-Object)) {
        $p = $procs[$k]
        if (PA-WildAny $patterns ([string]$p.Name)) { $list.Add((PA-ProcessInfo $p)) }
    }
    return ,$list
}

function PA-OpProcesses($op) { return [ordered]@{ processes = (PA-MatchProcesses $op.patterns) } }

function PA-OpPorts($op) {
    $conns = @()
    try { $conns = @(Get-NetTCPConnection -State Listen) }
    catch { if ([string]$_.CategoryInfo.Category -ne 'ObjectNotFound') { throw } }
    $list = PA-List
    foreach ($c in @($conns | Sort-Object -Property @('LocalPort', 'LocalAddress'))) {
        $list.Add([ordered]@{ address = [string]$c.LocalAddress; port = [long]$c.LocalPort; pid = [long]$c.OwningProcess })
    }
    return [ordered]@{ ports = $list }
}

function PA-OpRegistry($op) {
    $keys = [ordered]@{}
    foreach ($key in @($op.keys)) {
        $p = PA-RegPath ([string]$key)
        if (-not (Test-Path -LiteralPath $p)) { continue }
        $item = Get-Item -LiteralPath $p
        $vals = [ordered]@{}
        foreach ($n in $item.GetValueNames()) { $vals[[string]$n] = (PA-RegValue $item ([string]$n)) }
        $keys[[string]$key] = $vals
    }
    return [ordered]@{ keys = $keys }
}

function PA-OpFiles($op) {
    $inst = PA-Install $op.install
    $files = PA-List
    if ($null -ne $inst.install_dir) {
        foreach ($spec in @($op.files)) {
            $full = PA-Join $inst.install_dir ([string]$spec.path)
            $cut = $full.LastIndexOf('\')
            $leaf = $full.Substring($cut + 1)
            if ($leaf.IndexOf('*') -ge 0 -or $leaf.IndexOf('?') -ge 0) {
                $dir = $full.Substring(0, $cut)
                if (-not [System.IO.Directory]::Exists($dir)) { continue }
                $rx = PA-WildRegex $leaf
                $names = New-Object 'System.Collections.Generic.List[string]'
                foreach ($f in [System.IO.Directory]::GetFiles($dir)) {
                    $nm = [System.IO.Path]::GetFileName($f)
                    if ($rx.IsMatch($nm)) { $names.Add($nm) }
                }
                $names.Sort([StringComparer]::OrdinalIgnoreCase)
                foreach ($nm in $names) { $files.Add((PA-ReadFile ($dir + '\' + $nm) ([long]$spec.max_bytes))) }
            } else {
                $files.Add((PA-ReadFile $full ([long]$spec.max_bytes)))
            }
        }
    }
    return [ordered]@{ subsystem = [string]$op.subsystem; service = $inst.service; install_dir = $inst.install_dir; files = $files }
}

function PA-OpProbe($op) {
    $inst = PA-Install $op.install
    $probes = PA-List
    foreach ($p in @($op.paths)) {
        $p = [string]$p
        if (PA-IsAbs $p) { $probes.Add((PA-Probe $p)) }
        elseif ($null -ne $inst.install_dir) { $probes.Add((PA-Probe (PA-Join $inst.install_dir $p))) }
    }
    return [ordered]@{ subsystem = [string]$op.subsystem; service = $inst.service; install_dir = $inst.install_dir; probes = $probes }
}

function PA-OpProbeProperty($op) {
    $inst = PA-Install $op.install
    $d = [ordered]@{ subsystem = [string]$op.subsystem; service = $inst.service; install_dir = $inst.install_dir
                     file = $null; key = [string]$op.key; found = $false; value = $null; probe = $null }
    if ($null -eq $inst.install_dir) { return $d }
    $d.file = PA-Join $inst.install_dir ([string]$op.file)
    if (-not [System.IO.File]::Exists($d.file)) { return $d }
    $value = PA-ReadProperty (PA-DecodeText ([System.IO.File]::ReadAllBytes($d.file))) ([string]$op.key)
    if ($null -eq $value) { return $d }
    $d.found = $true
    $d.value = $value
    if (PA-IsAbs $value) { $d.probe = PA-Probe $value }
    return $d
}

# ------------------------------------------------------------------ apply ops
function PA-OpWriteFile($op) {
    $path = [string]$op.path
    $bytes = [Convert]::FromBase64String([string]$op.content_b64)
    $exists = [System.IO.File]::Exists($path)
    $prev = $null
    if ($exists) { $prev = PA-Sha256File $path }
    if ($null -eq $op.expect_sha256) {
        if ($exists) { throw "refusing to write ${path}: the file exists but the plan expected none (sha256 $prev)" }
    } elseif (-not $exists) {
        throw "refusing to write ${path}: the file does not exist (the plan expected sha256 $($op.expect_sha256))"
    } elseif ($prev -ne [string]$op.expect_sha256) {
        throw "refusing to write ${path}: it changed since it was read (sha256 $prev, expected $($op.expect_sha256))"
    }
    $dir = [System.IO.Path]::GetDirectoryName($path)
    if (-not [System.IO.Directory]::Exists($dir)) { throw "folder $dir does not exist" }
    $backup = $null
    if ($exists) {
        $bdir = $dir
        if ($null -ne $op.backup_dir) { $bdir = [string]$op.backup_dir }
        if (-not [System.IO.Directory]::Exists($bdir)) { [void][System.IO.Directory]::CreateDirectory($bdir) }
        $backup = [System.IO.Path]::Combine($bdir, [System.IO.Path]::GetFileName($path) + '.' + (PA-Stamp) + '.paragon-auditor.bak')
        [System.IO.File]::Copy($path, $backup, $false)
    }
    $staged = [System.IO.Path]::Combine($dir, '.' + [System.IO.Path]::GetFileName($path) + '.' + [guid]::NewGuid().ToString('N') + '.paragon-auditor.new')
    try {
        [System.IO.File]::WriteAllBytes($staged, $bytes)
        PA-Replace $staged $path $false
    } finally {
        if ([System.IO.File]::Exists($staged)) { [System.IO.File]::Delete($staged) }
    }
    return [ordered]@{ path = $path; backup_path = $backup; previous_sha256 = $prev; sha256 = (PA-Sha256File $path)
                       mtime = (PA-Iso ([System.IO.File]::GetLastWriteTimeUtc($path))) }
}

function PA-OpRestoreFile($op) {
    $path = [string]$op.path
    $backup = [string]$op.backup_path
    if (-not [System.IO.File]::Exists($backup)) { throw "backup $backup not found" }
    if ($null -ne $op.expect_sha256 -and [System.IO.File]::Exists($path)) {
        $cur = PA-Sha256File $path
        if ($cur -ne [string]$op.expect_sha256) {
            throw "refusing to restore ${path}: it changed since it was written (sha256 $cur, expected $($op.expect_sha256))"
        }
    }
    PA-Replace $backup $path $true
    return [ordered]@{ path = $path; backup_path = $backup; sha256 = (PA-Sha256File $path)
                       mtime = (PA-Iso ([System.IO.File]::GetLastWriteTimeUtc($path))) }
}

function PA-OpRestartService($op) {
    $name = [string]$op.name
    $timeout = [TimeSpan]::FromSeconds([int]$op.timeout_s)
    [void](PA-ServiceByName $name)
    $sc = New-Object System.ServiceProcess.ServiceController($name)
    $deps = @($sc.DependentServices | Where-Object { [string]$_.Status -eq 'Running' })
    if ([string]$sc.Status -ne 'Stopped') {
        if ([string]$sc.Status -ne 'StopPending') { $sc.Stop() }
        try { $sc.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Stopped, $timeout) }
        catch { $sc.Refresh(); throw "service $name did not stop within $([int]$op.timeout_s) s (state: $($sc.Status))" }
    }
    $sc.Start()
    try { $sc.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Running, $timeout) }
    catch { $sc.Refresh(); throw "service $name did not reach Running within $([int]$op.timeout_s) s (state: $($sc.Status))" }
    foreach ($d in $deps) {
        $d.Refresh()
        if ([string]$d.Status -eq 'Stopped') { $d.Start() }
        try { $d.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Running, $timeout) }
        catch { throw "dependent service $($d.ServiceName) of $name did not reach Running again" }
    }
    $script:PAProcs = $null
    $info = PA-ServiceInfo (PA-ServiceByName $name)
    if ($info.state -ne 'Running') { throw "service $name is $($info.state) after the restart" }
    return [ordered]@{ name = $info.name; state = $info.state; start_time = $info.start_time; pid = $info.pid }
}

function PA-OpSetServiceAccount($op) {
    # No password_env: built-in accounts get the empty password Windows requires; any other
    # account keeps its stored password (StartPassword not passed = unchanged).
    $name = [string]$op.name
    $account = [string]$op.account
    $cimArgs = @{ StartName = $account }
    if ($null -ne $op.password_env) {
        $var = [string]$op.password_env
        $pw = [Environment]::GetEnvironmentVariable($var)
        if ($null -eq $pw) { throw "password variable $var is not set in the shell" }
        [Environment]::SetEnvironmentVariable($var, $null)
        $cimArgs['StartPassword'] = $pw
        $pw = $null
    } elseif ($account -match '^(\.\\)?(LocalSystem|LocalService|NetworkService)$' -or $account -match '^NT AUTHORITY\\') {
        $cimArgs['StartPassword'] = ''
    }
    $svc = PA-ServiceByName $name
    $res = Invoke-CimMethod -InputObject $svc -MethodName Change -Arguments $cimArgs
    $cimArgs = $null
    $code = [int]$res.ReturnValue
    if ($code -ne 0) {
        $text = 'unknown code'
        if ($code -lt $script:ChangeCodes.Count) { $text = $script:ChangeCodes[$code] }
        throw "Win32_Service.Change failed for ${name}: return value $code ($text)"
    }
    $svc = PA-ServiceByName $name
    return [ordered]@{ name = [string]$svc.Name; account = [string]$svc.StartName }
}

function PA-OpCheckInstallers($op) {
    $running = PA-MatchProcesses $op.patterns
    if ($running.Count -gt 0) {
        $names = @($running | ForEach-Object { "$($_.name) (pid $($_.pid))" }) -join ', '
        throw "installer running: $names"
    }
    return [ordered]@{ running = $running }
}

function PA-RunOp($op) {
    switch -CaseSensitive ([string]$op.op) {
        'facts' { return (PA-OpFacts $op) }
        'services' { return (PA-OpServices $op) }
        'processes' { return (PA-OpProcesses $op) }
        'ports' { return (PA-OpPorts $op) }
        'registry' { return (PA-OpRegistry $op) }
        'files' { return (PA-OpFiles $op) }
        'probe' { return (PA-OpProbe $op) }
        'probe_property' { return (PA-OpProbeProperty $op) }
        'write_file' { return (PA-OpWriteFile $op) }
        'restore_file' { return (PA-OpRestoreFile $op) }
        'restart_service' { return (PA-OpRestartService $op) }
        'set_service_account' { return (PA-OpSetServiceAccount $op) }
        'check_installers' { return (PA-OpCheckInstallers $op) }
    }
    throw "unknown op $($op.op)"
}

# ------------------------------------------------------------------ main
function PA-Fatal([string]$message) { [Console]::Error.WriteLine('paragon-auditor executor: ' + $message) }

function PA-Main([string]$json) {
    $started = PA-Now
    try { $req = ConvertFrom-Json -InputObject $json }
    catch { PA-Fatal ('request is not valid JSON: ' + (PA-Msg $_)); return }
    if ($req.protocol -ne 1) { PA-Fatal "unsupported protocol version $($req.protocol) (this executor speaks 1)"; return }
    $allowed = @{ collect = @('facts', 'services', 'processes', 'ports', 'registry', 'files', 'probe', 'probe_property')
                  apply = @('write_file', 'restore_file', 'restart_service', 'set_service_account', 'check_installers') }
    $kind = [string]$req.kind
    if (-not $allowed.ContainsKey($kind)) { PA-Fatal "unknown request kind $kind"; return }
    $ops = @($req.ops)
    if ($ops.Count -eq 0) { PA-Fatal 'request has no ops'; return }
    foreach ($op in $ops) {
        if ($allowed[$kind] -cnotcontains [string]$op.op) { PA-Fatal "unknown op $($op.op) for a $kind request"; return }
    }
    $results = PA-List
    $stop = $false
    foreach ($op in $ops) {
        $r = [ordered]@{ op = [string]$op.op; id = [string]$op.id; status = 'ok'; error = $null; data = $null }
        if ($stop) {
            $r.status = 'skipped'
            $r.error = 'not run: an earlier op failed'
        } else {
            try { $r.data = PA-RunOp $op }
            catch {
                $r.status = 'failed'
                $r.error = PA-Msg $_
                if ($kind -eq 'apply') { $stop = $true }
            }
        }
        $results.Add($r)
    }
    $resp = [ordered]@{ protocol = 1; kind = $kind; request_id = [string]$req.request_id
                        hostname = [string]$env:COMPUTERNAME; started = $started; finished = (PA-Now); results = $results }
    $text = PA-Json $resp
    [Console]::Out.Write('PARAGON-AUDITOR/1 ' + [Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes($text)) + "`r`n")
    [Console]::Out.Flush()
    $global:PAExit = 0
}

PA-Main $RequestJson

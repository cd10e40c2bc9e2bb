# paragon-auditor remote executor, protocol 1: the ops and the main program.
# Sent right after executor.ps1 as one script (see the top of executor.ps1).

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
        if (PA-IsAbs $p) { $probes.Add((PA-Probe (PA-NormPath $p))) }
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
    $value = $null
    try { $value = PA-ReadProperty (PA-DecodeText ([System.IO.File]::ReadAllBytes($d.file))) ([string]$op.key) }
    catch { if ((PA-Msg $_) -ne 'malformed \uxxxx escape') { throw } }
    if ($null -eq $value) { return $d }
    $d.found = $true
    $d.value = $value
    if (PA-IsAbs $value) { $d.probe = PA-Probe (PA-NormPath $value) }
    return $d
}

# Read-only: the allow-listed keys, the member list and /health of the node-local etcd v2.
# The root listing (list_names) answers every key WITH its value: only the names leave here.
function PA-OpEtcd($op) {
    $d = [ordered]@{ service = $null; endpoint = [string]$op.endpoint; error = $null; healthy = $null
                     values = [ordered]@{}; members = (PA-List); key_names = $null }
    $endpoint = [string]$op.endpoint
    if (-not ($endpoint -cmatch '^http://(127\.0\.0\.1|localhost|\[::1\]):[0-9]{1,5}\z')) {
        throw "refusing etcd endpoint ${endpoint}: only http on the loopback interface"
    }
    $secret = @($script:PAEtcdSecretFloor) + @($op.secret_patterns)
    foreach ($k in @($op.keys)) {
        $k = [string]$k
        if (-not ($k -cmatch '^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}\z')) { throw "refusing etcd key ${k}: not a plain key name" }
        foreach ($p in $secret) {
            if ((PA-WildRegex ([string]$p)).IsMatch($k)) { throw "refusing to read etcd key ${k}: it matches the secret pattern $p" }
        }
    }
    foreach ($n in @($op.services)) {
        foreach ($s in (PA-Services)) {
            if ($null -eq $d.service -and [string]::Equals([string]$s.Name, [string]$n, [StringComparison]::OrdinalIgnoreCase)) {
                $d.service = [string]$s.Name
            }
        }
    }
    if ($null -eq $d.service) { return $d }
    $t = [int]$op.timeout_ms
    $url = $endpoint + '/v2/members'
    try {
        foreach ($m in @((PA-EtcdJson (PA-EtcdGet $url $t) @()).members)) {
            if ($null -eq $m) { continue }
            $d.members.Add([ordered]@{ name = [string]$m.name
                                       peer_urls = [string[]]@(@($m.peerURLs) | Where-Object { $null -ne $_ })
                                       client_urls = [string[]]@(@($m.clientURLs) | Where-Object { $null -ne $_ }) })
        }
        $url = $endpoint + '/health'
        $r = PA-EtcdGet $url $t
        if ($r.status -eq 200 -or $r.status -eq 503) { $d.healthy = ([string](PA-EtcdJson $r @(503)).health -eq 'true') }
        foreach ($k in @($op.keys)) {
            $url = $endpoint + '/v2/keys/' + [string]$k
            $r = PA-EtcdGet $url $t
            if ($r.status -eq 404) { continue }
            $node = (PA-EtcdJson $r @()).node
            if ($null -ne $node -and -not $node.dir -and $null -ne $node.value) { $d.values[[string]$k] = [string]$node.value }
        }
        if ($op.list_names) {
            $url = $endpoint + '/v2/keys/'
            $names = New-Object 'System.Collections.Generic.List[string]'
            foreach ($n in @((PA-EtcdJson (PA-EtcdGet $url $t) @()).node.nodes)) {
                if ($null -ne $n) { $names.Add(([string]$n.key).TrimStart([char]'/')) }
            }
            $names.Sort([StringComparer]::Ordinal)
            $d.key_names = $names.ToArray()
        }
    } catch { $d.error = 'GET ' + $url + ': ' + (PA-EtcdMsg $_) }
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
        'etcd' { return (PA-OpEtcd $op) }
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
    $allowed = @{ collect = @('facts', 'services', 'processes', 'ports', 'registry', 'files', 'probe', 'probe_property', 'etcd')
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

# Smoke test for a Windows Server 2022 host (run as Administrator, Containers feature enabled, a
# reboot after enabling it): berthd on containerd's Windows pipe, Microsoft's runhcs shim, and the
# stock ctr of a containerd release against it.
#
#   .\smoke-windows.ps1 -Berth C:\src\berth -Containerd C:\containerd
#
# -Berth is a built checkout of Berth (npm ci; npm run build); -Containerd a directory holding
# containerd's Windows release binaries: ctr.exe and containerd-shim-runhcs-v1.exe.
param(
  [Parameter(Mandatory = $true)][string]$Berth,
  [Parameter(Mandatory = $true)][string]$Containerd,
  [string]$Image = "mcr.microsoft.com/windows/nanoserver:ltsc2022"
)
$ErrorActionPreference = "Stop"

$work = Join-Path $env:TEMP "berth-smoke-$PID"
$address = "\\.\pipe\berth-smoke-$PID"
New-Item -ItemType Directory -Force -Path $work | Out-Null
$env:PATH = "$Containerd;$env:PATH"   # containerd-shim-runhcs-v1.exe is found on PATH, as containerd finds it
$ctr = Join-Path $Containerd "ctr.exe"

$daemon = Start-Process -PassThru -NoNewWindow -RedirectStandardError (Join-Path $work "berthd.log") `
  -FilePath node -ArgumentList @((Join-Path $Berth "packages\daemon\bin\berthd.js"), "--root", (Join-Path $work "root"),
  "--state", (Join-Path $work "state"), "--address", $address, "--log-level", "debug")
try {
  $deadline = (Get-Date).AddSeconds(60)
  while (-not (& $ctr --address $address version 2>$null)) {
    if ((Get-Date) -gt $deadline) { throw "berthd did not answer on $address" }
    Start-Sleep -Milliseconds 500
  }

  # The Windows plugins must have loaded, not skipped.
  $plugins = & $ctr --address $address plugins ls
  $plugins | Write-Host
  foreach ($row in @("io.containerd.snapshotter.v1\s+windows\s+\S+\s+ok", "io.containerd.differ.v1\s+windows\s+\S+\s+ok", "io.containerd.runtime.v2\s+runhcs\s+\S+\s+ok")) {
    if (-not ($plugins -match $row)) { throw "plugin row missing or not ok: $row" }
  }

  & $ctr --address $address images pull --snapshotter windows $Image
  if ($LASTEXITCODE -ne 0) { throw "pull failed" }

  $out = & $ctr --address $address run --rm --snapshotter windows --runtime io.containerd.runhcs.v1 $Image berth-smoke cmd /c echo hi
  if ($LASTEXITCODE -ne 0) { throw "run failed with $LASTEXITCODE" }
  if (($out | Out-String).Trim() -ne "hi") { throw "expected 'hi', got '$out'" }
  Write-Host "smoke: ok (stock ctr pulled $Image and ran cmd /c echo hi through berthd)"
}
finally {
  Stop-Process -Id $daemon.Id -ErrorAction SilentlyContinue
  Get-Content (Join-Path $work "berthd.log") -Tail 40 -ErrorAction SilentlyContinue
}

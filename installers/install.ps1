# Install AI Retouch for this user on Windows (a thin wrapper: installers\install.py does the work).
#   powershell -ExecutionPolicy Bypass -File installers\install.ps1               install or update
#   powershell -ExecutionPolicy Bypass -File installers\install.ps1 --uninstall   remove it again
#   powershell -ExecutionPolicy Bypass -File installers\install.ps1 --dry-run     say what would change
$ErrorActionPreference = 'Stop'
$installer = Join-Path $PSScriptRoot 'install.py'
$candidates = @(
  @('py', '-3.13'), @('py', '-3.12'), @('py', '-3.11'), @('python3'), @('python')
)
foreach ($candidate in $candidates) {
  $exe = $candidate[0]
  $pre = @($candidate | Select-Object -Skip 1)
  if (-not (Get-Command $exe -ErrorAction SilentlyContinue)) { continue }
  & $exe @pre -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>$null
  if ($LASTEXITCODE -ne 0) { continue }
  & $exe @pre $installer @args
  exit $LASTEXITCODE
}
Write-Host 'AI Retouch needs Python 3.11 or newer. Install it (https://www.python.org/downloads/), then run this again.'
exit 1

# Packer (HCL2): fail the AMI build when AWS keys are baked in. Add these
# provisioners at the end of your build block; the source block is yours.
# Packer build instances often have no instance profile, so the gate is
# "no live credential in the image" (--fail-on credentials). Validated with
# Packer 1.6.6 (Debian's) by tests/cli/packaging.rs.

packer {
  required_version = ">= 1.6.6"
}

variable "rolecall_binary" {
  type    = string
  default = "dist/rolecall-x86_64-unknown-linux-musl"
}

build {
  sources = ["source.amazon-ebs.base"]

  provisioner "file" {
    source      = var.rolecall_binary
    destination = "/tmp/rolecall"
  }

  # Installed into a directory only root can write before root runs it:
  # /tmp/rolecall itself could be swapped by any local user. The report is
  # written where only root can write, then handed to the SSH user, who
  # downloads it; a failing gate says why in the build log and fails the build.
  provisioner "shell" {
    inline = [
      "sudo install -o root -g root -m 0755 /tmp/rolecall /usr/local/bin/rolecall",
      "sudo install -d -o root -g root -m 0700 /var/lib/rolecall",
      "CODE=0; sudo /usr/local/bin/rolecall scan --sources users,files --fail-on credentials --fast --summary --max-seconds 1500 --output json=/var/lib/rolecall/image-gate.json || CODE=$?",
      "sudo install -m 0600 -o \"$(id -u)\" -g \"$(id -g)\" /var/lib/rolecall/image-gate.json /tmp/rolecall-report.json",
      "[ \"$CODE\" -eq 0 ] || echo 'rolecall: AWS credentials are baked into this image (or the scan was incomplete); see the summary above'",
      "exit \"$CODE\"",
    ]
    valid_exit_codes = [0]
    timeout          = "30m"
  }

  provisioner "file" {
    direction   = "download"
    source      = "/tmp/rolecall-report.json"
    destination = "reports/rolecall-${source.name}.json"
  }

  provisioner "shell" {
    inline = ["sudo rm -rf /tmp/rolecall /usr/local/bin/rolecall /tmp/rolecall-report.json /var/lib/rolecall"]
  }
}

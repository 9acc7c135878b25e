# Packer (HCL2): fail the AMI build when AWS keys are baked in. Add these
# provisioners at the end of your build block; the source block is yours.
# Packer build instances often have no instance profile, so the gate is
# "no live credential in the image" (--fail-on credentials).

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
  # /tmp/rolecall itself could be swapped by any local user.
  provisioner "shell" {
    inline = [
      "sudo install -o root -g root -m 0755 /tmp/rolecall /usr/local/bin/rolecall",
      "sudo /usr/local/bin/rolecall scan --sources users,files --fail-on credentials --fast --summary --max-seconds 1500 --output json=/tmp/rolecall.json",
    ]
    valid_exit_codes = [0]
    timeout          = "30m"
  }

  provisioner "file" {
    direction   = "download"
    source      = "/tmp/rolecall.json"
    destination = "reports/rolecall-${source.name}.json"
  }

  provisioner "shell" {
    inline = ["sudo rm -f /tmp/rolecall /usr/local/bin/rolecall /tmp/rolecall.json"]
  }

  error-cleanup-provisioner "shell-local" {
    inline = ["echo 'rolecall: AWS credentials are baked into this image; see the build log'"]
  }
}

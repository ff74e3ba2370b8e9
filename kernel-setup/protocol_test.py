"""Jupyter's own kernel conformance suite (Debian: python3-jupyter-kernel-test) run against the
finetune-lab kernel. Run with Debian's Python and the project's kernel spec on JUPYTER_PATH:

    JUPYTER_PATH=.kernel/share/jupyter /usr/bin/python3 -m unittest -v kernel-setup/protocol_test.py
"""
import unittest

import jupyter_kernel_test


class FinetuneLabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "finetune-lab"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'
    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"a" + "b"', "result": "'ab'"},
    ]
    code_display_data = [
        {"code": 'import { display } from "tslab"; display.html("<b>x</b>")', "mime": "text/html"},
        {"code": 'import { display } from "tslab"; display.png(new Uint8Array([137, 80, 78, 71]))', "mime": "image/png"},
    ]
    completion_samples = [{"text": "Math.ma", "matches": {"max"}}]
    complete_code_samples = ["1 + 1", "const x = 1;"]
    incomplete_code_samples = ["function f() {", "const s = ["]
    code_inspect_sample = "Math.max"


if __name__ == "__main__":
    unittest.main()

/* The web page of nndl serve, compiled into the binary: each file of web/
 * between a start and an end symbol (read by assets.c), then a NUL. */
    .section .rodata
    .balign 16
    .global nndl_web_index_html, nndl_web_index_html_end
nndl_web_index_html:
    .incbin "web/index.html"
nndl_web_index_html_end:
    .byte 0
    .balign 16
    .global nndl_web_app_js, nndl_web_app_js_end
nndl_web_app_js:
    .incbin "web/app.js"
nndl_web_app_js_end:
    .byte 0
    .balign 16
    .global nndl_web_style_css, nndl_web_style_css_end
nndl_web_style_css:
    .incbin "web/style.css"
nndl_web_style_css_end:
    .byte 0
    .section .note.GNU-stack,"",@progbits

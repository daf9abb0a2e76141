from django.template import Context, Template


def render(choices, selected) -> str:
    template = Template("{% load clinic_tags %}{% options choices selected %}")
    return template.render(Context({"choices": choices, "selected": selected}))


def test_options_are_escaped_and_the_selected_one_is_marked():
    choices = [(1, "A01 Осмотр"), (2, 'B02 "<Снимок>" & описание'), (12, "C12")]
    html = render(choices, 2)
    assert html == (
        '<option value="1">A01 Осмотр</option>'
        '<option value="2" selected>B02 &quot;&lt;Снимок&gt;&quot; &amp; описание</option>'
        '<option value="12">C12</option>'
    )
    assert " selected" not in render(choices, None)
    assert " selected" not in render(choices, "")
    assert render(choices, "12").count(" selected") == 1

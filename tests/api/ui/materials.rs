//! The materials page: uploads by drag and drop, previews, news drafts.

use serde_json::json;

use super::{
    assert_no_page_errors, browser, confirm, dialog_removed, fill, list, open, screenshot_path,
    sign_in, with_fake_wechat,
};

/// Drops a PNG drawn on a canvas (480×300) onto the upload dialog's drop zone,
/// as dragging a file from the desktop would.
const DROP_PNG: &str = "
    const canvas = document.createElement('canvas');
    canvas.width = 480; canvas.height = 300;
    const g = canvas.getContext('2d');
    const fill = g.createLinearGradient(0, 0, 480, 300);
    fill.addColorStop(0, '#07c160'); fill.addColorStop(1, '#2563eb');
    g.fillStyle = fill; g.fillRect(0, 0, 480, 300);
    g.fillStyle = '#fff'; g.font = 'bold 54px sans-serif'; g.fillText('SPRING SALE', 52, 170);
    return new Promise((resolve) => canvas.toBlob((blob) => {
      const file = new File([blob], arguments[0], { type: 'image/png' });
      const data = new DataTransfer();
      data.items.add(file);
      const zone = document.querySelector('dialog[open] [data-role=drop-zone]');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
      }
      resolve(blob.size);
    }, 'image/png'));
";

#[tokio::test]
async fn uploads_an_image_material_by_drag_and_drop_and_previews_it() {
    const APP_ID: &str = "wxuimedia0000001";
    let (app, fake) = with_fake_wechat(&[APP_ID]).await;
    let account = app.add_account(APP_ID).await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxmaterials").await;
    b.wait_for(".state-empty").await;
    b.click_css("[data-action=upload]").await;
    b.wait_for("dialog[open] [data-role=drop-zone]").await;

    // A file of the wrong kind is refused before anything is sent.
    b.js(
        "const data = new DataTransfer();
         data.items.add(new File(['hello'], 'notes.txt', { type: 'text/plain' }));
         document.querySelector('dialog[open] [data-role=drop-zone]').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));",
        vec![],
    )
    .await;
    let refused = b.text("#upload-file-error").await;
    assert!(refused.contains("notes.txt must be a jpg"), "{refused}");

    let size = b.js(DROP_PNG, vec![json!("春节海报.png")]).await;
    assert!(size.as_i64().unwrap() > 1000, "{size}");
    // The chosen file shows before it is uploaded.
    b.wait_until(
        "document.querySelector('dialog[open] img.drop-preview') && document.querySelector('dialog[open] img.drop-preview').naturalWidth === 480",
        "the local preview of the dropped file",
    )
    .await;
    assert!(b
        .text("dialog[open] .drop-name")
        .await
        .contains("春节海报.png"));
    b.wait_gone("#upload-file-error").await;
    b.screenshot(&screenshot_path("material-upload")).await;
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_gone("dialog[open]").await;

    // The new material's preview is the copy this server keeps.
    b.wait_until(
        "(() => { const img = document.querySelector('.material .file-preview[data-state=local] img'); return img && img.complete && img.naturalWidth === 480; })()",
        "the uploaded material's preview",
    )
    .await;
    let card = b.text(".material").await;
    assert!(
        card.contains("春节海报.png") && card.contains("480×300") && card.contains("On WeChat"),
        "{card}"
    );
    b.screenshot(&screenshot_path("materials-uploaded")).await;
    assert!(fake
        .recorded()
        .iter()
        .any(|r| r.path == "/cgi-bin/material/add_material"));
    let rows = list(
        &app,
        &format!("/wechat/wxmaterials/list?account_id={account}"),
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["is_permanent"], 1);
    assert!(rows[0]["media_id"]
        .as_str()
        .unwrap()
        .starts_with("MEDIA_IMAGE_"));
    assert!(rows[0]["local_path"]
        .as_str()
        .unwrap()
        .starts_with("uploads/"));

    // Deleting it on WeChat asks first, then marks the record.
    b.click_css(".material [data-action=delete-remote]").await;
    confirm(&b).await;
    b.wait_until(
        "document.querySelector('.material') && document.querySelector('.material').textContent.includes('Deleted on WeChat')",
        "the material marked as deleted on WeChat",
    )
    .await;
    assert!(fake
        .recorded()
        .iter()
        .any(|r| r.path == "/cgi-bin/material/del_material"));
    assert_no_page_errors(&b, "materials upload").await;
    b.quit().await;
}

/// Selects the text `word` in the open editor's body (as a drag would).
const SELECT_WORD: &str = "
    const area = document.querySelector('dialog[open] [data-role=rich-text]');
    const walker = document.createTreeWalker(area, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.textContent.indexOf(arguments[0]);
      if (at < 0) continue;
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + arguments[0].length);
      area.focus();
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      area.dispatchEvent(new MouseEvent('mouseup', { bubbles: true }));
      return true;
    }
    return false;
";

/// Puts the caret at the end of the open editor's body.
const CARET_AT_END: &str = "
    const area = document.querySelector('dialog[open] [data-role=rich-text]');
    area.focus();
    const range = document.createRange();
    range.selectNodeContents(area);
    range.collapse(false);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    area.dispatchEvent(new MouseEvent('mouseup', { bubbles: true }));
";

async fn pick_cover(b: &super::browser::Browser, media_id: &str) {
    let css = format!("dialog[open] [data-thumb={media_id}]");
    b.wait_for(&css).await;
    b.js(
        "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' })",
        vec![json!(css)],
    )
    .await;
    b.click_css(&css).await;
}

async fn tool(b: &super::browser::Browser, name: &str) {
    b.click_css(&format!("dialog[open] [data-tool={name}]"))
        .await;
}

#[tokio::test]
async fn builds_a_two_article_news_draft_in_the_rich_text_editor() {
    const APP_ID: &str = "wxuinews00000001";
    let (app, fake) = with_fake_wechat(&[APP_ID]).await;
    let account = app.add_account(APP_ID).await;
    for (id, name) in [("MEDIA_COVER_1", "春.jpg"), ("MEDIA_COVER_2", "夏.jpg")] {
        app.seed(&account).material(json!({"media_type": "image", "media_id": id, "name": name, "is_permanent": 1, "sync_status": 1}))
        .await;
    }
    let b = super::browser::Browser::start_in(1280, 900, "zh-CN").await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxmaterials").await;
    b.click_css("[data-action=new-news]").await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_COVER_1]").await;
    assert!(b
        .text("dialog[open] [data-role=news-list]")
        .await
        .contains("主图文"));

    // Article 1: bold text, a list and a link, and something pasted.
    fill(&b, "title", "春季新品上市").await;
    fill(&b, "author", "小编").await;
    fill(&b, "digest", "三款新品，限时尝鲜。").await;
    fill(&b, "content_source_url", "https://example.com/spring").await;
    b.type_into("dialog[open] [data-role=rich-text]", "春天来了 欢迎选购")
        .await;
    assert_eq!(
        b.js(SELECT_WORD, vec![json!("春天来了")]).await,
        json!(true)
    );
    tool(&b, "bold").await;
    assert_eq!(b.js(SELECT_WORD, vec![json!("选购")]).await, json!(true));
    tool(&b, "link").await;
    b.set_value(
        "dialog[open] [data-role=rt-link-url]",
        "https://example.com/shop",
    )
    .await;
    b.click_css("dialog[open] [data-role=rt-link-apply]").await;
    b.js(CARET_AT_END, vec![]).await;
    b.press(fantoccini::key::Key::Enter).await;
    tool(&b, "ul").await;
    // Typed at the caret, as the keyboard does (type_into clears the text).
    b.js(
        "document.execCommand('insertText', false, '新品一')",
        vec![],
    )
    .await;
    b.js(CARET_AT_END, vec![]).await;
    b.js(
        "const data = new DataTransfer();
         data.setData('text/html', '<p onclick=\"alert(1)\" style=\"color:red\">粘贴的<script>alert(2)</script><span style=\"font-size:40px\">文字</span><img src=x onerror=alert(3)></p>');
         document.querySelector('dialog[open] [data-role=rich-text]').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));",
        vec![],
    )
    .await;
    pick_cover(&b, "MEDIA_COVER_1").await;

    // Article 2: a cover and a body, but no title yet.
    b.click_css("dialog[open] [data-action=add-article]").await;
    b.wait_for("dialog[open] [data-article='1'].is-selected")
        .await;
    b.type_into("dialog[open] [data-role=rich-text]", "夏天的预告")
        .await;
    pick_cover(&b, "MEDIA_COVER_2").await;

    // Saving: the server names article 2's title; the list marks it and
    // its form shows the error next to the title.
    b.click_css("dialog[open] [data-action=save-news]").await;
    b.wait_for("dialog[open] [data-article='1'].has-error")
        .await;
    b.wait_for("dialog[open] [data-article='1'].is-selected")
        .await;
    b.wait_for("dialog[open] [data-field=title].has-error .field-error")
        .await;
    let error = b.text("dialog[open] [data-field=title] .field-error").await;
    assert!(
        error.contains("标题") && error.contains("不能为空"),
        "{error}"
    );
    assert!(b
        .find_all("dialog[open] [data-article='0'].has-error")
        .await
        .is_empty());
    b.screenshot(&screenshot_path("news-draft-error-on-article-2"))
        .await;
    assert!(fake
        .recorded()
        .iter()
        .all(|r| r.path != "/cgi-bin/draft/add"));

    // Fixed, moved up to be the main article, saved.
    fill(&b, "title", "夏日预告").await;
    b.wait_gone("dialog[open] [data-article='1'].has-error")
        .await;
    b.click_css("dialog[open] [data-article='1'] [data-action=move-up]")
        .await;
    b.wait_for("dialog[open] [data-article='0'].is-selected")
        .await;
    assert!(b
        .text("dialog[open] [data-article='0']")
        .await
        .contains("夏日预告"));
    b.screenshot(&screenshot_path("news-draft-editor")).await;
    b.click_css("dialog[open] [data-action=save-news]").await;
    dialog_removed(&b).await;
    b.wait_until(
        "[...document.querySelectorAll('.material')].some((m) => m.textContent.includes('夏日预告'))",
        "the draft in the materials",
    )
    .await;
    let drafts: Vec<serde_json::Value> = fake
        .recorded()
        .into_iter()
        .filter(|r| r.path == "/cgi-bin/draft/add")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(drafts.len(), 1);
    let sent = drafts[0]["articles"].as_array().unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["title"], "夏日预告");
    assert_eq!(sent[0]["thumb_media_id"], "MEDIA_COVER_2");
    assert_eq!(sent[0]["content"], "夏天的预告");
    assert_eq!(sent[1]["title"], "春季新品上市");
    assert_eq!(sent[1]["author"], "小编");
    assert_eq!(sent[1]["thumb_media_id"], "MEDIA_COVER_1");
    assert_eq!(sent[1]["content_source_url"], "https://example.com/spring");
    let body = sent[1]["content"].as_str().unwrap();
    assert!(body.contains("<strong>春天来了</strong>"), "{body}");
    assert!(
        body.contains("<a href=\"https://example.com/shop\">选购</a>"),
        "{body}"
    );
    assert!(body.contains("<ul><li>新品一"), "{body}");
    assert!(body.contains("粘贴的") && body.contains("文字"), "{body}");
    for bad in [
        "<script", "onclick", "onerror", "style=", "<span", "<b>", "<img",
    ] {
        assert!(!body.contains(bad), "{bad} in {body}");
    }
    let rows = list(
        &app,
        &format!("/wechat/wxmaterials/list?account_id={account}&media_type=news"),
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["news_items"][1]["content"], body);
    b.screenshot(&screenshot_path("news-draft-created")).await;
    assert_no_page_errors(&b, "news draft").await;
    b.quit().await;
}

#[tokio::test]
async fn the_news_editor_speaks_english_and_guards_unsaved_articles() {
    const APP_ID: &str = "wxuinews00000002";
    let (app, fake) = with_fake_wechat(&[APP_ID]).await;
    let account = app.add_account(APP_ID).await;
    app.seed(&account).material(json!({"media_type": "image", "media_id": "MEDIA_COVER_1", "name": "cover.jpg", "is_permanent": 1, "sync_status": 1}))
    .await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxmaterials").await;
    b.click_css("[data-action=new-news]").await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_COVER_1]").await;
    let list_text = b.text("dialog[open] [data-role=news-list]").await;
    assert!(
        list_text.contains("Article 1") && list_text.contains("Main"),
        "{list_text}"
    );
    let tools = b
        .js("return [...document.querySelectorAll('dialog[open] [data-tool]')].map((t) => t.getAttribute('aria-label')).join('|')", vec![])
        .await;
    assert_eq!(tools, json!("Bold|Italic|Underline|Heading|Quote|Bulleted list|Numbered list|Link|Image|Clear formatting"));
    let labels = b.text("dialog[open] [data-role=news-form]").await;
    for label in [
        "Title",
        "Author",
        "Digest",
        "Original link",
        "Cover",
        "Body",
    ] {
        assert!(labels.contains(label), "{label} in {labels}");
    }

    // Nothing edited: Escape closes at once.
    b.press(fantoccini::key::Key::Escape).await;
    dialog_removed(&b).await;

    // Edited (a second article added, text in its body): Escape asks; "stay" keeps it.
    b.click_css("[data-action=new-news]").await;
    b.click_css("dialog[open] [data-action=add-article]").await;
    b.type_into("dialog[open] [data-role=rich-text]", "draft text")
        .await;
    b.press(fantoccini::key::Key::Escape).await;
    b.click_css("dialog[open] [data-confirm=no]").await;
    b.wait_for("dialog[open] [data-article='1'].is-selected")
        .await;
    assert!(b
        .text("dialog[open] [data-role=rich-text]")
        .await
        .contains("draft text"));
    b.press(fantoccini::key::Key::Escape).await;
    b.click_css("dialog[open] [data-confirm=yes]").await;
    dialog_removed(&b).await;
    assert!(fake
        .recorded()
        .iter()
        .all(|r| r.path != "/cgi-bin/draft/add"));
    assert_no_page_errors(&b, "news editor guard").await;
    b.quit().await;
}
